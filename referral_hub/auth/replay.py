"""Single use of client-assertion ``jti`` values (SMART Backend Services: the server SHALL reject a reused jti).

With Redis configured, ``SET key 1 NX EXAT <exp>`` is an atomic check-and-remember that expires by itself. Without
Redis, an INSERT into ``oauth_used_jti`` in the caller's transaction does the same through its primary key;
expired rows are purged now and then. Either way a jti is remembered until the assertion carrying it would have
expired anyway, after which the assertion itself is refused as expired.
"""

from __future__ import annotations

import random
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from referral_hub.auth.models import UsedAssertionId
from referral_hub.db_types import utcnow

#: Roughly one remember call in this many also deletes expired rows (keeps the table small without a job).
_PURGE_EVERY = 50


def remember_jti(session: Session, client_id: str, jti: str, expires_at: datetime) -> bool:
    """Record ``jti`` as used by ``client_id``; False when it was used before (a replay)."""
    if current_app.config.get("REDIS_URL"):
        from referral_hub.jobs.queues import redis_connection

        key = f"{current_app.config['QUEUE_PREFIX']}:oauth-jti:{client_id}:{jti}"
        return bool(redis_connection().set(key, b"1", nx=True, exat=int(expires_at.timestamp()) + 1))
    if random.randrange(_PURGE_EVERY) == 0:  # noqa: S311  (scheduling, not security)
        session.execute(delete(UsedAssertionId).where(UsedAssertionId.expires_at < utcnow()))
    try:
        with session.begin_nested():
            session.execute(insert(UsedAssertionId).values(client_id=client_id, jti=jti, expires_at=expires_at))
    except IntegrityError:
        return False
    return True


__all__ = ["remember_jti"]
