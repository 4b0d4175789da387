"""Import every model module so Alembic autogenerate and ``db.metadata`` see all tables."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from referral_hub.extensions import db

#: Modules that define tables. A feature adds its models module here.
MODEL_MODULES = (
    "referral_hub.fhir.models",
    "referral_hub.jobs.models",
    "referral_hub.referrals.models",
    "referral_hub.accounts.models",
    "referral_hub.screening.models",
    "referral_hub.auth.models",
    "referral_hub.policy.models",
    "referral_hub.audit.models",
)

#: Packages outside ``referral_hub`` with their own declarative base whose tables the hub's migrations own
#: (the first module defines ``Base``; the others add tables to it).
FOREIGN_METADATA = ("resource_directory.models", "resource_directory.geocoding.cache")


def all_metadata() -> list[MetaData]:
    """The hub's metadata plus every bundled package's, for Alembic's ``target_metadata``."""
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not exc.name or not name.startswith(exc.name):
                raise
    metadatas = [db.metadata]
    for name in FOREIGN_METADATA:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not exc.name or not name.startswith(exc.name):
                raise
            continue
        if module.Base.metadata not in metadatas:
            metadatas.append(module.Base.metadata)
    return metadatas
