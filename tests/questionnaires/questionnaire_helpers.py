"""Shared constants and builders for the questionnaires tests (imported by conftest and tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from questionnaires import Instrument

SHARED = Path(__file__).resolve().parents[3] / "shared"
IG_EXAMPLES = SHARED / "fhir" / "sdoh-cc-examples"
SOURCES = SHARED / "questionnaires-source"
LOINC = "http://loinc.org"

CORE_URL = "https://referral-hub.example.org/fhir/Questionnaire/ahc-hrsn-core"
SUPPLEMENTAL_URL = "https://referral-hub.example.org/fhir/Questionnaire/ahc-hrsn-supplemental"
HVS_URL = "http://hl7.org/fhir/us/sdoh-clinicalcare/Questionnaire/SDOHCC-QuestionnaireHungerVitalSign"

# Sentinel for "item present, no answer" (asked but declined).
DECLINED = object()


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def build_qr(instrument: Instrument, answers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A completed QR; ``answers`` maps linkId -> LA code, list of LA codes, raw answer dict(s) or DECLINED."""
    items = []
    for link_id, given in answers.items():
        item: dict[str, Any] = {"linkId": link_id}
        if given is not DECLINED:
            values = given if isinstance(given, list) else [given]
            item["answer"] = [
                {"valueCoding": {"system": LOINC, "code": v}} if isinstance(v, str) else v for v in values
            ]
        items.append(item)
    qr: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": "qr-1",
        "questionnaire": instrument.canonical,
        "status": "completed",
        "subject": {"reference": "Patient/pat-1"},
        "authored": "2026-01-05T15:00:00Z",
        "source": {"reference": "Patient/pat-1"},
        "item": items,
    }
    qr.update(fields)
    return qr


def validate_r4(resource: dict[str, Any]) -> None:
    """Raise if ``resource`` is not valid FHIR R4 (fhir.resources R4B models)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
