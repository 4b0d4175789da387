"""Fixtures of the screening UI tests: a migrated hub on SQLite, the web shell's seeded accounts, a signed-in client.

Reuses the web shell's helpers (``tests/web/hub_testing.py``): the schema comes from the Alembic migrations, CSRF
is on and users sign in through the real login form. The screening pages do not depend on the database engine
(every query goes through the FHIR store and the policy module, both tested on PostgreSQL elsewhere), so these
tests run on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.hub_testing import Seeded, login, make_app, migrate, seed, sqlite_copy


@pytest.fixture(scope="session")
def screening_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("screening-sqlite") / "template.db"
    migrate(f"sqlite:///{path}", tmp_path_factory.mktemp("screening-migrate"))
    return path


@pytest.fixture
def app(screening_sqlite_template: Path, tmp_path: Path) -> Iterator[Flask]:
    application = make_app(sqlite_copy(screening_sqlite_template, tmp_path), tmp_path)
    yield application
    with application.app_context():
        from referral_hub.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def seeded(app: Flask) -> Seeded:
    return seed(app)


@pytest.fixture
def staff(app: Flask, seeded: Seeded) -> FlaskClient:
    """A client signed in as clinic staff of the seeded clinic (which created the ``own`` patient)."""
    client = app.test_client()
    login(app, client, seeded.accounts["clinic_staff"])
    return client


@pytest.fixture
def other_clinic_staff(app: Flask, seeded: Seeded) -> FlaskClient:
    """A client signed in as clinic staff of another clinic (``clinic-2``, which created the ``other`` patient)."""
    import secrets

    from referral_hub.accounts.models import Organization
    from referral_hub.accounts.services import create_user
    from referral_hub.extensions import db
    from tests.web.hub_testing import Account

    password = secrets.token_urlsafe(16)
    with app.app_context():
        organization = db.session.get(Organization, seeded.organizations["clinic-2"][0])
        user, _ = create_user(db.session, "clinic2.staff@example.org", organization, "clinic_staff", password=password)
        user.must_change_password = False
        db.session.commit()
        account = Account(user.email, password, "clinic_staff", user.id)
        db.session.remove()
    client = app.test_client()
    login(app, client, account)
    return client


KITCHEN_SINK = {
    "resourceType": "Questionnaire",
    "url": "https://example.org/fhir/Questionnaire/kitchen-sink",
    "version": "1.0.0",
    "status": "active",
    "language": "en",
    "title": "Every item type",
    "_title": {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/translation",
                "extension": [{"url": "lang", "valueCode": "es"}, {"url": "content", "valueString": "Cada tipo"}],
            }
        ]
    },
    "item": [
        {"linkId": "/info", "type": "display", "text": "A few questions."},
        {
            "linkId": "/about",
            "type": "group",
            "text": "About you",
            "item": [
                {"linkId": "/age", "type": "integer", "text": "How old are you?", "required": True},
                {"linkId": "/height", "type": "decimal", "text": "Height in metres"},
                {"linkId": "/moved", "type": "date", "text": "When did you move here?"},
                {"linkId": "/ok", "type": "boolean", "text": "Do you feel well?"},
                {"linkId": "/name", "type": "string", "text": "Nickname", "maxLength": 20},
                {"linkId": "/notes", "type": "text", "text": "Anything else?"},
            ],
        },
        {
            "linkId": "/food",
            "type": "choice",
            "text": "Did food run out?",
            "code": [{"system": "urn:test", "code": "X-FOOD"}],
            "answerOption": [
                {"valueCoding": {"system": "urn:test", "code": "yes", "display": "Yes, it ran out"}},
                {"valueCoding": {"system": "urn:test", "code": "no", "display": "No"}},
            ],
        },
        {
            "linkId": "/help",
            "type": "open-choice",
            "text": "What help would you like?",
            "enableWhen": [
                {"question": "/food", "operator": "=", "answerCoding": {"system": "urn:test", "code": "yes"}}
            ],
            "answerOption": [{"valueString": "Food bank"}, {"valueString": "Benefits"}],
        },
        {
            "linkId": "/needs",
            "type": "choice",
            "repeats": True,
            "text": "Which of these apply?",
            "enableBehavior": "any",
            "enableWhen": [
                {"question": "/age", "operator": ">=", "answerInteger": 18},
                {"question": "/ok", "operator": "exists", "answerBoolean": True},
            ],
            "answerOption": [
                {"valueCoding": {"system": "urn:test", "code": "rent", "display": "Rent"}},
                {"valueCoding": {"system": "urn:test", "code": "bills", "display": "Bills"}},
                {"valueCoding": {"system": "urn:test", "code": "care", "display": "Child care"}},
            ],
        },
        {"linkId": "/total", "type": "integer", "text": "Total", "readOnly": True},
    ],
}
KITCHEN_SINK_RULES = {
    "instrument": {"key": "kitchen-sink", "url": KITCHEN_SINK["url"], "version": "1.0.0"},
    "questions": {
        "X-FOOD": {
            "domains": ["food-insecurity"],
            "verified": True,
            "source": "test",
            "answers": {"yes": {"positive": "food-insecurity"}, "no": {}},
        }
    },
}


@pytest.fixture
def kitchen_sink(app: Flask, tmp_path: Path) -> str:
    """A customer-loaded instrument with every supported item type; returns its key."""
    import json

    import yaml

    from referral_hub.extensions import db
    from referral_hub.fhir.store import ResourceStore
    from referral_hub.screening.instruments import load_custom_instrument

    questionnaire = tmp_path / "kitchen-sink.json"
    rules = tmp_path / "kitchen-sink.yaml"
    questionnaire.write_text(json.dumps(KITCHEN_SINK))
    rules.write_text(yaml.safe_dump(KITCHEN_SINK_RULES))
    with app.app_context():
        load_custom_instrument(
            db.session, ResourceStore(db.session, (app.config["FHIR_BASE_URL"],)), questionnaire, rules
        )
        db.session.commit()
        db.session.remove()
    return "kitchen-sink"
