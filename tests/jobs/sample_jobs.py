"""Jobs used by the tests; a worker subprocess imports this module with ``--import tests.jobs.sample_jobs``.

Their database effect goes to ``job_test_effect``, a table the test fixture creates next to the migrated schema
(it is not part of the hub). Attempts are also counted in files under ``$REFERRAL_HUB_TEST_SIGNAL_DIR`` — outside
the database on purpose, because the database effects of a failed or killed attempt are rolled back.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select
from sqlalchemy.orm import Session

from referral_hub.db_types import BigIntPK
from referral_hub.jobs import job

SIGNAL_DIR_ENV = "REFERRAL_HUB_TEST_SIGNAL_DIR"
#: Text shaped like PHI in an exception message; it must never reach the outbox, logs or Redis.
PHI_LIKE_MESSAGE = "could not reach Maria Lopez, 12 Elm Street"

effects = Table(
    "job_test_effect",
    MetaData(),
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("effect_key", Integer, nullable=False),
    Column("pid", Integer, nullable=False),
)


def signal_dir() -> Path:
    return Path(os.environ[SIGNAL_DIR_ENV])


def attempt_times(effect_key: int) -> list[float]:
    """Start times of every attempt of the job with ``effect_key`` (from any process)."""
    path = signal_dir() / f"attempts-{effect_key}"
    return [float(line) for line in path.read_text().split()] if path.exists() else []


def effect_count(session: Session, effect_key: int) -> int:
    return session.execute(
        select(func.count()).select_from(effects).where(effects.c.effect_key == effect_key)
    ).scalar_one()


def _count_attempt(effect_key: int) -> int:
    path = signal_dir() / f"attempts-{effect_key}"
    with path.open("a") as fh:
        fh.write(f"{time.time()}\n")
    return len(attempt_times(effect_key))


@job("tests.write_effect")
def write_effect(session: Session, *, effect_key: int, sleep_ms: int = 0) -> None:
    """Write one effect row, tell the test it is written (uncommitted) and by which process, then sleep."""
    _count_attempt(effect_key)
    session.execute(insert(effects).values(effect_key=effect_key, pid=os.getpid()))
    session.flush()
    (signal_dir() / f"written-{effect_key}").write_text(str(os.getpid()))
    if sleep_ms:
        time.sleep(sleep_ms / 1000)


@job("tests.fail_until")
def fail_until(session: Session, *, effect_key: int, succeed_on_attempt: int) -> None:
    """Write an effect row, then fail (with a PHI-like message) until attempt ``succeed_on_attempt``."""
    attempt = _count_attempt(effect_key)
    session.execute(insert(effects).values(effect_key=effect_key, pid=os.getpid()))
    session.flush()
    if attempt < succeed_on_attempt:
        raise RuntimeError(PHI_LIKE_MESSAGE)


@job("tests.commits_itself")
def commits_itself(session: Session, *, effect_key: int) -> None:
    """Breaks the rule that only the runner commits."""
    session.execute(insert(effects).values(effect_key=effect_key, pid=os.getpid()))
    session.commit()


@job("tests.savepoint_inside")
def savepoint_inside(session: Session, *, effect_key: int) -> None:
    """Uses a SAVEPOINT, which handlers may do (only a real commit is refused)."""
    with session.begin_nested():
        session.execute(insert(effects).values(effect_key=effect_key, pid=os.getpid()))
