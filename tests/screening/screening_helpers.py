"""Helpers of the screening UI tests: form posts with the page's CSRF token, store and audit-log look-ups."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LOINC = "http://loinc.org"
AHC = "ahc-hrsn-core"
HVS = "hunger-vital-sign"


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def questionnaire_url(patient_id: str) -> str:
    return f"/screening/patients/{patient_id}/questionnaire"


def post_screening(
    client: FlaskClient, patient_id: str, instrument: str, answers: dict[str, Any], action: str, response: str = ""
) -> Any:
    """POST the screening form as the browser would (``answers``: field name without ``q-`` → value or list)."""
    token = csrf(client, f"{questionnaire_url(patient_id)}?instrument={instrument}")
    data: list[tuple[str, str]] = [("csrf_token", token), ("instrument", instrument), ("action", action)]
    if response:
        data.append(("response", response))
    for link_id, value in answers.items():
        for one in value if isinstance(value, list) else [value]:
            data.append((f"q-{link_id}", one))
    from werkzeug.datastructures import MultiDict

    return client.post(questionnaire_url(patient_id), data=MultiDict(data))


def coding(code: str, system: str = LOINC) -> str:
    """The form value of a Coding answer."""
    return f"{system}|{code}"


def count(app: Flask, resource_type: str) -> int:
    from referral_hub.extensions import db
    from referral_hub.fhir.models import FhirResource

    with app.app_context():
        value = db.session.execute(
            select(func.count()).select_from(FhirResource).where(FhirResource.resource_type == resource_type)
        ).scalar_one()
        db.session.remove()
        return int(value)


def stored(app: Flask, resource_type: str, resource_id: str) -> dict[str, Any]:
    from referral_hub.extensions import db
    from referral_hub.fhir.models import FhirResource

    with app.app_context():
        body = db.session.execute(
            select(FhirResource.body).where(
                FhirResource.resource_type == resource_type, FhirResource.resource_id == resource_id
            )
        ).scalar_one()
        db.session.remove()
        return dict(body)


def all_of(app: Flask, resource_type: str) -> list[dict[str, Any]]:
    from referral_hub.extensions import db
    from referral_hub.fhir.models import FhirResource

    with app.app_context():
        bodies = db.session.execute(
            select(FhirResource.body).where(FhirResource.resource_type == resource_type)
        ).scalars()
        result = [dict(b) for b in bodies]
        db.session.remove()
        return result


def audit_rows(app: Flask, **where: Any) -> list[dict[str, Any]]:
    from referral_hub.audit.models import AuditEventRow
    from referral_hub.extensions import db

    with app.app_context():
        query = select(AuditEventRow)
        for name, value in where.items():
            query = query.where(getattr(AuditEventRow, name) == value)
        rows = [
            {c.name: getattr(row, c.name) for c in AuditEventRow.__table__.columns}
            for row in db.session.execute(query).scalars()
        ]
        db.session.remove()
        return rows


def response_id_from(location: str) -> str:
    match = re.search(r"response=([A-Za-z0-9\-.]+)", location)
    assert match, location
    return match.group(1)


def text_of(page: str) -> str:
    """The page's visible text, whitespace collapsed (for asserting wording)."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
