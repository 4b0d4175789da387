"""The demo data set behind ``referral-hub demo`` (and so ``make run``).

Everything is idempotent: running it again updates in place and issues fresh one-time passwords and a fresh API
client secret (printed once; nothing here is a fixed secret).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from referral_hub.accounts.demo import DemoLogin, seed_demo_accounts
from referral_hub.accounts.models import Organization
from referral_hub.auth.models import ApiClient
from referral_hub.auth.services import register_client
from referral_hub.demo import IG_EXAMPLES_DIR
from referral_hub.directory.demo import DemoLoadError, load_demo_directory
from referral_hub.directory.fhir_sync import project_directory
from referral_hub.fhir.loader import load_directory
from referral_hub.fhir.store import ResourceStore
from referral_hub.screening.instruments import sync_instruments

DEMO_CLIENT_NAME = "Riverside Clinic EHR (demo)"
DEMO_CLIENT_SCOPES = (
    "system/Task.cruds system/ServiceRequest.cruds system/Patient.cruds system/Consent.cruds system/*.rs"
)


class DemoError(RuntimeError):
    """The bundled demo data did not load (a packaging bug, never user input)."""


@dataclass
class DemoReport:
    ig_resources: int = 0
    instruments: int = 0
    directory: str = ""
    directory_fhir: str = ""
    logins: list[DemoLogin] = field(default_factory=list)
    client_id: str = ""
    client_secret: str = ""


def seed_demo(session: Session) -> DemoReport:
    """Load the IG examples, the screening instruments, the community directory (NYC city-funded sites, the San
    Mateo county sample, Open Eligibility), demo organizations/users and an API client.

    The caller commits, then prints the report once.
    """
    report = DemoReport()
    store = ResourceStore(session, (current_app.config["FHIR_BASE_URL"],))
    loaded = load_directory(store, IG_EXAMPLES_DIR)
    if loaded.errors:
        raise DemoError("; ".join(loaded.errors))
    report.ig_resources = loaded.created + loaded.updated
    report.instruments = sync_instruments(session, store)
    try:
        report.directory = load_demo_directory(session).summary()
    except DemoLoadError as exc:
        raise DemoError(str(exc)) from exc
    report.directory_fhir = project_directory(session).summary()
    report.logins = seed_demo_accounts(session)
    clinic = session.execute(select(Organization).where(Organization.slug == "demo-clinic")).scalar_one()
    for old in session.execute(
        select(ApiClient).where(ApiClient.name == DEMO_CLIENT_NAME, ApiClient.active.is_(True))
    ).scalars():
        old.active = False  # a re-run retires the previous demo secret instead of keeping it valid
    registered = register_client(session, name=DEMO_CLIENT_NAME, organization=clinic, scopes=DEMO_CLIENT_SCOPES)
    report.client_id = registered.client.client_id
    report.client_secret = registered.client_secret or ""
    session.flush()
    return report
