"""``enqueue``: add a job to the caller's transaction; hand it out only after that transaction commits (G6).

The outbox row is written with the data it is about, so a job exists if and only if the data exists: a rollback
removes both, and a commit makes both durable before anything reaches Redis or runs. Session events collect the
outbox rows flushed in a transaction and hand them to ``dispatch`` once the outermost transaction commits; a
rollback forgets them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from flask import current_app, g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from referral_hub.db_types import utcnow
from referral_hub.extensions import db
from referral_hub.jobs.dispatch import OutboxEntry, dispatch_committed
from referral_hub.jobs.errors import HandlerCommitError, JobArgumentError
from referral_hub.jobs.models import OutboxMessage, OutboxStatus
from referral_hub.jobs.registry import get_job

logger = logging.getLogger(__name__)

#: String ids: FHIR logical ids and UUIDs fit ([A-Za-z0-9\-\.]{1,64}, FHIR R4 ``id``); free text does not.
_ID_STRING_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_INT64 = 2**63

#: ``session.info`` keys.
_PENDING_KEY = "referral_hub.jobs.pending"
_APP_KEY = "referral_hub.jobs.app"
IN_HANDLER_KEY = "referral_hub.jobs.in_handler"


def check_ids(name: str, ids: Mapping[str, object]) -> None:
    """Refuse anything that is not an id (G6: jobs take ids, never PHI).

    Integers are accepted under any argument name; strings only under a name ending in ``_id`` and only in FHIR
    ``id`` syntax. Names, dicts, lists, floats, booleans, dates and long strings are refused, because Redis and
    the outbox keep job arguments in clear text.

    :raises JobArgumentError: naming the offending argument (never echoing its value).
    """
    for key, value in ids.items():
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise JobArgumentError(
                f"job {name!r}: argument {key!r} is a {type(value).__name__}; jobs take ids (int, or str *_id)"
            )
        if isinstance(value, int) and not -_INT64 <= value < _INT64:
            raise JobArgumentError(f"job {name!r}: argument {key!r} does not fit a 64-bit id")
        if isinstance(value, str) and not (key.endswith("_id") and _ID_STRING_RE.match(value)):
            raise JobArgumentError(
                f"job {name!r}: string argument {key!r} must be named *_id and be a FHIR-style id "
                "(letters, digits, '-', '.', at most 64); pass an id and let the job load the data"
            )


def enqueue(name: str, *, session: Session | None = None, **ids: int | str) -> OutboxMessage:
    """Add job ``name`` with id arguments to ``session`` (default ``db.session``), the caller's transaction.

    Nothing happens until the caller commits: then the job is handed to RQ (``REDIS_URL`` set) or run in-process.
    If the caller rolls back, the job never existed.

    :param name: a name registered with ``@job``.
    :param session: the session whose transaction carries the job (a write hook passes the store's session).
    :param ids: the handler's keyword arguments — ids only.
    :raises UnknownJobError: when no handler is registered under ``name``.
    :raises JobArgumentError: when an argument is not an id or does not fit the handler.
    """
    spec = get_job(name)
    check_ids(name, ids)
    spec.check_arguments(ids)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if spec.queue not in app.config["QUEUES"]:
        raise JobArgumentError(f"job {name!r} uses queue {spec.queue!r}, which is not in REFERRAL_HUB_QUEUES")
    session = session if session is not None else db.session()
    # With Redis the row is written as already handed out: enqueueing it after the commit then needs no second
    # write on the happy path (dispatch.py explains the failure paths).
    via_redis = bool(app.config.get("REDIS_URL"))
    message = OutboxMessage(
        name=name,
        queue=spec.queue,
        args=dict(ids),
        status=(OutboxStatus.DISPATCHED if via_redis else OutboxStatus.PENDING).value,
        dispatched_at=utcnow() if via_redis else None,
        attempts=0,
        redispatches=0,
        request_id=g.get("request_id") if has_request_context() else None,
    )
    session.add(message)
    session.info[_APP_KEY] = app
    return message


def _after_flush(session: Session, _flush_context: UOWTransaction) -> None:
    # ``session.new`` still lists the objects just inserted, now with their primary keys.
    entries = [
        OutboxEntry(obj.id, obj.name, obj.queue, obj.attempts) for obj in session.new if isinstance(obj, OutboxMessage)
    ]
    if entries:
        session.info.setdefault(_PENDING_KEY, []).extend(sorted(entries))


def _before_commit(session: Session) -> None:
    # Releasing a SAVEPOINT (``begin_nested``) is allowed inside a handler; committing the transaction is not.
    if session.info.get(IN_HANDLER_KEY) and not session.in_nested_transaction():
        raise HandlerCommitError("job handlers must not commit; the runner commits once with the outbox row (G7)")


def _after_commit(session: Session) -> None:
    # after_commit also fires when a SAVEPOINT is released; only the outermost commit makes rows durable.
    if session.in_nested_transaction():
        return
    entries = session.info.pop(_PENDING_KEY, None)
    app = session.info.pop(_APP_KEY, None)
    if not entries or app is None:
        return
    # The caller's commit has succeeded; a dispatch problem must not look like a failed commit to it. Rows that
    # could not be handed out are picked up again (redispatch / in-process retry thread).
    try:
        dispatch_committed(app, entries)
    except Exception:
        logger.exception(
            "outbox: dispatch after commit failed for %d message(s); redispatch will hand them out", len(entries)
        )


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without after_commit having taken the ids: it rolled back.
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)
        session.info.pop(_APP_KEY, None)


def install_session_events() -> None:
    """Listen on every ``Session`` (idempotent): the hub's scoped session and any session a caller creates."""
    for name, fn in (
        ("after_flush", _after_flush),
        ("before_commit", _before_commit),
        ("after_commit", _after_commit),
        ("after_transaction_end", _after_transaction_end),
    ):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)


def pending_ids(session: Session) -> list[int]:
    """Outbox ids flushed in the session's current transaction (for tests and diagnostics)."""
    return [entry.id for entry in session.info.get(_PENDING_KEY, [])]


__all__ = ["IN_HANDLER_KEY", "check_ids", "enqueue", "install_session_events", "pending_ids"]
