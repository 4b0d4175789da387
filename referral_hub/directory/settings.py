"""Directory settings: Flask config keys, defaulted from ``REFERRAL_HUB_DIRECTORY_*`` environment variables.

The hub's ``config.py`` belongs to the lead engineer; this feature reads its own variables here (same prefix,
same "environment first, test overrides win" rule) so that adding it needs no change elsewhere.

| Config key / environment variable | Default | Meaning |
|---|---|---|
| ``DIRECTORY_HSDS_ACCESS`` | ``public`` | ``/hsds``: ``public`` (open data, as HSDS APIs are) or ``authenticated`` |
| ``DIRECTORY_GEOCODER`` | offline | JSON provider mapping for ``build_geocoder`` (``{"provider": …}``) |
| ``DIRECTORY_TIMEZONE`` | ``UTC`` | zone of schedules that state none and whose location has no ZIP code |
| ``DIRECTORY_STALE_AFTER_DAYS`` | ``180`` | a listing not verified for this long gets a "still correct?" e-mail |
| ``DIRECTORY_VERIFY_LINK_DAYS`` | ``30`` | how long a "still correct?" link works |
| ``DIRECTORY_RESEND_AFTER_DAYS`` | ``30`` | an unanswered contact is asked again after this many days, not sooner |
| ``DIRECTORY_GEOCODE_BATCH`` | ``200`` | locations per background geocoding job (short runs for rate limits) |
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from referral_hub.config import ConfigError

ENV_PREFIX = "REFERRAL_HUB_"
ACCESS_MODES = ("public", "authenticated")

DEFAULTS: dict[str, Any] = {
    "DIRECTORY_HSDS_ACCESS": "public",
    "DIRECTORY_GEOCODER": None,
    "DIRECTORY_TIMEZONE": "UTC",
    "DIRECTORY_STALE_AFTER_DAYS": 180,
    "DIRECTORY_VERIFY_LINK_DAYS": 30,
    "DIRECTORY_RESEND_AFTER_DAYS": 30,
    "DIRECTORY_GEOCODE_BATCH": 200,
}
_INTEGERS = (
    "DIRECTORY_STALE_AFTER_DAYS",
    "DIRECTORY_VERIFY_LINK_DAYS",
    "DIRECTORY_RESEND_AFTER_DAYS",
    "DIRECTORY_GEOCODE_BATCH",
)


def configure(app: Flask, environ: Mapping[str, str] | None = None) -> None:
    """Fill missing ``DIRECTORY_*`` config keys from the environment, then defaults; check them.

    :raises ConfigError: on an unknown access mode, a non-numeric day count or a geocoder that is not JSON.
    """
    env = os.environ if environ is None else environ
    for key, default in DEFAULTS.items():
        if key in app.config:
            continue
        raw = env.get(ENV_PREFIX + key)
        app.config[key] = raw if raw not in (None, "") else default
    if app.config["DIRECTORY_HSDS_ACCESS"] not in ACCESS_MODES:
        raise ConfigError(f"{ENV_PREFIX}DIRECTORY_HSDS_ACCESS must be one of {', '.join(ACCESS_MODES)}")
    for key in _INTEGERS:
        try:
            app.config[key] = int(app.config[key])
        except (TypeError, ValueError):
            raise ConfigError(f"{ENV_PREFIX}{key} must be a whole number") from None
        if app.config[key] < 1:
            raise ConfigError(f"{ENV_PREFIX}{key} must be at least 1")
    geocoder_config = app.config["DIRECTORY_GEOCODER"]
    if isinstance(geocoder_config, str):
        try:
            app.config["DIRECTORY_GEOCODER"] = json.loads(geocoder_config)
        except json.JSONDecodeError:
            raise ConfigError(f"{ENV_PREFIX}DIRECTORY_GEOCODER must be a JSON object") from None


def hsds_access(app: Flask) -> str:
    return str(app.config.get("DIRECTORY_HSDS_ACCESS", "public"))


def default_timezone(app: Flask) -> str:
    return str(app.config.get("DIRECTORY_TIMEZONE") or "UTC")


def geocoder(app: Flask, session: Session) -> Any:
    """The configured geocoder (offline unless a provider is configured): a patient's address stays local."""
    from resource_directory.geocoding import build_geocoder

    return build_geocoder(app.config.get("DIRECTORY_GEOCODER") or None, session=session)
