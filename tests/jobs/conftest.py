"""Fixtures for the job tests: a migrated database per backend, a private Redis, real worker subprocesses.

Taxonomy:

* ``backend`` — parametrises a test over SQLite and PostgreSQL (``hub_jobs_test``, suffixed with the xdist worker
  id under ``-n``; its schema is dropped once per session and rebuilt by ``flask_migrate.upgrade()`` from
  ``migrations/``, plus ``job_test_effect`` for the sample jobs). Tables are emptied before every test, because
  jobs commit for real (a worker in another process must see the rows), so a per-test SAVEPOINT cannot isolate
  them.
* ``redis_server`` — a PRIVATE ``redis-server`` on a free port, emptied before every test; a test may stop and
  start it. The shared Redis on 6379 is never touched.
* ``make_app(redis=…, **config)`` — a hub app on the test database, with the sample jobs registered.
* ``start_worker(*args)`` — a real ``referral-hub worker`` subprocess in its own process group (killed at teardown).

Services that are not reachable make the tests skip, or fail when ``REFERRAL_HUB_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask_migrate import upgrade
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from sqlalchemy import make_url, text

from referral_hub.app import create_app
from referral_hub.extensions import db
from referral_hub.jobs.queues import queue_name

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # the sample jobs are imported as ``tests.jobs.sample_jobs``, like the worker does
    sys.path.insert(0, str(REPO_ROOT))

from tests.jobs import sample_jobs  # noqa: E402

REQUIRE_SERVICES = os.environ.get("REFERRAL_HUB_REQUIRE_SERVICES") == "1"
#: The server (and an existing database to connect to for CREATE DATABASE), as in ``tests/conftest.py``.
PG_SERVER_URL = make_url(
    os.environ.get("REFERRAL_HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
)
BACKENDS = [b for b in os.environ.get("REFERRAL_HUB_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
#: One database per pytest-xdist worker, so parallel runs never drop each other's database.
PG_DATABASE = "hub_jobs_test" + (f"_{os.environ['PYTEST_XDIST_WORKER']}" if "PYTEST_XDIST_WORKER" in os.environ else "")
SAMPLE_JOBS = "tests.jobs.sample_jobs"
TABLES = ("job_outbox", "task_status_event", "job_test_effect", "fhir_resource")

#: Short retry and redispatch settings so the behaviour is observable in seconds.
TEST_SETTINGS = {
    "REFERRAL_HUB_ENV": "testing",
    "REFERRAL_HUB_QUEUE_PREFIX": "hub-jobs-test",
    "REFERRAL_HUB_JOB_MAX_RETRIES": "2",
    "REFERRAL_HUB_JOB_RETRY_INTERVALS": "1,2",
    "REFERRAL_HUB_OUTBOX_REDISPATCH_AFTER_S": "2",
    "REFERRAL_HUB_LOG_FORMAT": "text",
    "REFERRAL_HUB_LOG_LEVEL": "INFO",
}


def unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REFERRAL_HUB_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def _settings(database_url: str, redis_url: str | None = None) -> dict[str, str]:
    settings = dict(TEST_SETTINGS, REFERRAL_HUB_DATABASE_URL=database_url)
    if redis_url:
        settings["REFERRAL_HUB_REDIS_URL"] = redis_url
    return settings


def _build_schema(database_url: str) -> None:
    app = create_app(environ=_settings(database_url))
    with app.app_context():
        upgrade()
        sample_jobs.effects.create(db.engine)
        db.engine.dispose()


# ---- databases ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('jobs-db') / 'hub.db'}"
    _build_schema(url)
    return url


@pytest.fixture(scope="session")
def postgresql_url() -> str:
    """``hub_jobs_test``, created if missing, its schema dropped and rebuilt from the migrations once per session.

    Dropping the schema rather than the database is much cheaper than CREATE DATABASE on a busy server.
    """
    admin_url = PG_SERVER_URL.set(drivername="postgresql").render_as_string(hide_password=False)
    url = PG_SERVER_URL.set(drivername="postgresql", database=PG_DATABASE).render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin_url, connect_timeout=3, autocommit=True) as admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone() is None:
                admin.execute(f"CREATE DATABASE {PG_DATABASE}")
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable at {PG_SERVER_URL.host}:{PG_SERVER_URL.port}: {type(exc).__name__}")
    sqlalchemy_url = PG_SERVER_URL.set(drivername="postgresql+psycopg", database=PG_DATABASE)
    _build_schema(sqlalchemy_url.render_as_string(hide_password=False))
    return sqlalchemy_url.render_as_string(hide_password=False)


@pytest.fixture(
    params=[
        pytest.param(name, marks=[pytest.mark.postgres] if name == "postgresql" else [])
        for name in BACKENDS
        if name in ("sqlite", "postgresql")
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql`` (``REFERRAL_HUB_TEST_BACKENDS`` narrows the list, as in tests/conftest.py)."""
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{backend}_url")


# ---- Redis ----------------------------------------------------------------------------------------------------


class PrivateRedis:
    """A throw-away ``redis-server`` (no persistence) that tests may stop and start again on the same port."""

    def __init__(self, executable: str, port: int, log_path: Path) -> None:
        self.executable = executable
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Redis:
        return Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=5)

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with self.client() as client:
                    client.ping()
                return
            except RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"private redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def _private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis | None]:
    executable = shutil.which("redis-server")
    if executable is None:
        yield None
        return
    server = PrivateRedis(executable, _free_port(), tmp_path_factory.mktemp("redis") / "redis.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(_private_redis: PrivateRedis | None) -> Iterator[PrivateRedis]:
    """The private Redis, running and empty."""
    if _private_redis is None:
        unavailable("redis-server is not installed; the Redis tests start a private one")
    assert _private_redis is not None
    if not _private_redis.running:
        _private_redis.start()
    with _private_redis.client() as client:
        client.flushall()
    yield _private_redis
    if not _private_redis.running:  # a test stopped it: bring it back for the next one
        _private_redis.start()


# ---- apps and workers -----------------------------------------------------------------------------------------


@pytest.fixture
def signal_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the sample jobs count attempts (shared with worker subprocesses through the environment)."""
    path = tmp_path / "signals"
    path.mkdir()
    monkeypatch.setenv(sample_jobs.SIGNAL_DIR_ENV, str(path))
    return path


def _empty_tables(app: Flask) -> None:
    with app.app_context():
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
            else:
                for table in TABLES:
                    conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def make_app(database_url: str, signal_dir: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Flask]]:
    """``make_app(redis=False, **config_overrides)``: a hub app on the test database; tables emptied first."""
    apps: list[Flask] = []

    def _make(*, redis: bool = False, **overrides: Any) -> Flask:
        redis_url = request.getfixturevalue("redis_server").url if redis else None
        app = create_app(
            overrides={"JOB_MODULES": (SAMPLE_JOBS,), **overrides}, environ=_settings(database_url, redis_url)
        )
        if not apps:
            _empty_tables(app)
        apps.append(app)
        return app

    yield _make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def worker_env(database_url: str, signal_dir: Path) -> Callable[[PrivateRedis], dict[str, str]]:
    def _env(redis: PrivateRedis) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REFERRAL_HUB_")}
        env.update(_settings(database_url, redis.url))
        env[sample_jobs.SIGNAL_DIR_ENV] = str(signal_dir)
        env["PYTHONPATH"] = str(REPO_ROOT)  # so the worker can import tests.jobs.sample_jobs
        return env

    return _env


@pytest.fixture
def start_worker(
    redis_server: PrivateRedis, worker_env: Callable[[PrivateRedis], dict[str, str]], tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """``start_worker(*extra_args)``: ``referral-hub worker --import tests.jobs.sample_jobs …`` as a subprocess."""
    processes: list[subprocess.Popen[bytes]] = []
    executable = Path(sys.executable).with_name("referral-hub")

    def _start(*args: str) -> subprocess.Popen[bytes]:
        log_path = tmp_path / f"worker-{len(processes)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(executable), "worker", "--import", SAMPLE_JOBS, *args],
                cwd=REPO_ROOT,
                env=worker_env(redis_server),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill the worker, its horse, scheduler and loop
            )
        process.log_path = log_path  # type: ignore[attr-defined]
        processes.append(process)
        return process

    yield _start
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def run_jobs_here(app: Flask, redis: PrivateRedis) -> None:
    """Work off every queued job with RQ's ``SimpleWorker`` in this process (G8), inside an app context."""
    with app.app_context(), redis.client() as client:
        queues = [Queue(queue_name(app, name), connection=client) for name in app.config["QUEUES"]]
        SimpleWorker(queues, connection=client).work(burst=True, with_scheduler=False)


def worker_log(process: subprocess.Popen[bytes]) -> str:
    return Path(process.log_path).read_text(errors="replace")  # type: ignore[attr-defined]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")
