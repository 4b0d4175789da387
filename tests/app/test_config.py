"""Settings: safe defaults, no default secrets in production."""

from __future__ import annotations

from pathlib import Path

import pytest

from referral_hub.config import ConfigError, load_settings


def test_development_defaults_to_sqlite_under_instance_and_a_persisted_random_secret(tmp_path: Path) -> None:
    first = load_settings(tmp_path, {})
    again = load_settings(tmp_path, {})
    assert first.database_url == f"sqlite:///{tmp_path / 'referral_hub.db'}"
    assert first.redis_url is None
    assert len(first.secret_key) >= 32
    assert again.secret_key == first.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_two_installations_never_share_a_secret(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "a", {}).secret_key != load_settings(tmp_path / "b", {}).secret_key


@pytest.mark.parametrize(
    "environ",
    [
        {"REFERRAL_HUB_ENV": "production", "REFERRAL_HUB_DATABASE_URL": "postgresql://db/hub"},
        {"REFERRAL_HUB_ENV": "production", "REFERRAL_HUB_SECRET_KEY": "short", "REFERRAL_HUB_DATABASE_URL": "x"},
        {"REFERRAL_HUB_ENV": "production", "REFERRAL_HUB_SECRET_KEY": "k" * 40},
        {"REFERRAL_HUB_ENV": "staging"},
        {"REFERRAL_HUB_JOB_RETRY_INTERVALS": "5,soon"},
    ],
)
def test_unsafe_or_inconsistent_settings_refuse_to_start(tmp_path: Path, environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(tmp_path, environ)


def test_production_with_explicit_settings_starts_and_uses_psycopg3(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        {
            "REFERRAL_HUB_ENV": "production",
            "REFERRAL_HUB_SECRET_KEY": "s" * 48,
            "REFERRAL_HUB_DATABASE_URL": "postgresql://hub@db/hub",
            "REFERRAL_HUB_REDIS_URL": "redis://cache:6379/0",
            "REFERRAL_HUB_BASE_URL": "https://hub.example.org/",
        },
    )
    assert settings.database_url == "postgresql+psycopg://hub@db/hub"
    assert settings.fhir_base_url == "https://hub.example.org/fhir"
    assert settings.redis_url == "redis://cache:6379/0"
    assert not (tmp_path / "secret_key").exists()
