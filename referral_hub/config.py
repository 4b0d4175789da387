"""Configuration from ``REFERRAL_HUB_*`` environment variables.

Defaults give a working single-machine hub (SQLite file under ``instance/``, jobs in-process). Production mode
refuses to start without an explicit secret key and database URL, so no deployment can run on a guessable
secret or on a throw-away SQLite file by accident.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "REFERRAL_HUB_"
VALID_ENVS = ("development", "production", "testing")


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration is unsafe or inconsistent."""


@dataclass(frozen=True)
class Settings:
    """The parsed settings; ``to_flask()`` turns them into Flask config keys."""

    env: str
    secret_key: str
    database_url: str
    redis_url: str | None
    base_url: str
    queue_prefix: str
    queues: tuple[str, ...]
    log_level: str
    log_format: str
    job_max_retries: int
    job_retry_intervals: tuple[int, ...]
    outbox_redispatch_after_s: int

    @property
    def fhir_base_url(self) -> str:
        """Absolute base of the FHIR endpoint; stored absolute references to it are treated as local."""
        return self.base_url.rstrip("/") + "/fhir"

    def to_flask(self) -> dict[str, object]:
        return {
            "ENV_NAME": self.env,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_TRACK_MODIFICATIONS": False,
            "REDIS_URL": self.redis_url,
            "BASE_URL": self.base_url.rstrip("/"),
            "FHIR_BASE_URL": self.fhir_base_url,
            "QUEUE_PREFIX": self.queue_prefix,
            "QUEUES": self.queues,
            "LOG_LEVEL": self.log_level,
            "LOG_FORMAT": self.log_format,
            "JOB_MAX_RETRIES": self.job_max_retries,
            "JOB_RETRY_INTERVALS": self.job_retry_intervals,
            "OUTBOX_REDISPATCH_AFTER_S": self.outbox_redispatch_after_s,
            "TESTING": self.env == "testing",
            "JSON_SORT_KEYS": False,
        }


def _int_list(raw: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"expected a comma-separated list of seconds, got {raw!r}") from exc
    if not values or any(v < 0 for v in values):
        raise ConfigError(f"expected non-negative seconds, got {raw!r}")
    return values


def _dev_secret(instance_path: Path) -> str:
    """A random per-installation secret kept in ``instance/secret_key`` so dev sessions survive restarts."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings(instance_path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check the settings.

    :raises ConfigError: on an unknown environment name, or production without explicit secrets/database.
    """
    env_vars = os.environ if environ is None else environ

    def get(name: str, default: str | None = None) -> str | None:
        value = env_vars.get(ENV_PREFIX + name)
        return value if value not in (None, "") else default

    env = get("ENV", "development") or "development"
    if env not in VALID_ENVS:
        raise ConfigError(f"{ENV_PREFIX}ENV must be one of {', '.join(VALID_ENVS)}, not {env!r}")
    secret_key = get("SECRET_KEY")
    database_url = get("DATABASE_URL")
    if env == "production":
        if not secret_key or len(secret_key) < 32:
            raise ConfigError(f"{ENV_PREFIX}SECRET_KEY must be set to at least 32 random characters in production")
        if not database_url:
            raise ConfigError(f"{ENV_PREFIX}DATABASE_URL must be set in production")
    if not secret_key:
        secret_key = secrets.token_urlsafe(48) if env == "testing" else _dev_secret(instance_path)
    if not database_url:
        instance_path.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance_path / 'referral_hub.db'}"
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    queues = tuple(q.strip() for q in (get("QUEUES", "default,notifications,exchange") or "").split(",") if q)
    return Settings(
        env=env,
        secret_key=secret_key,
        database_url=database_url,
        redis_url=get("REDIS_URL"),
        base_url=get("BASE_URL", "http://127.0.0.1:5000") or "http://127.0.0.1:5000",
        queue_prefix=get("QUEUE_PREFIX", "referral-hub") or "referral-hub",
        queues=queues or ("default",),
        log_level=(get("LOG_LEVEL", "INFO") or "INFO").upper(),
        log_format=get("LOG_FORMAT", "json") or "json",
        job_max_retries=int(get("JOB_MAX_RETRIES", "5") or 5),
        job_retry_intervals=_int_list(get("JOB_RETRY_INTERVALS", "5,30,120,600,1800") or ""),
        outbox_redispatch_after_s=int(get("OUTBOX_REDISPATCH_AFTER_S", "60") or 60),
    )
