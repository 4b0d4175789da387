"""Which patient a resource concerns, as ``Patient/<id>``, for the audit log's "who looked at this patient"."""

from __future__ import annotations

from typing import Any

from referral_hub.fhir.references import parse_reference

#: Elements that name the patient, in the order R4 resources use them (Task.for, *.subject, *.patient …).
_PATIENT_ELEMENTS = ("subject", "for", "patient", "beneficiary", "source")


def patient_reference(body: dict[str, Any], local_bases: tuple[str, ...] = ()) -> str | None:
    """``Patient/<id>`` for a Patient or a resource pointing at one locally; None otherwise."""
    if body.get("resourceType") == "Patient":
        rid = body.get("id")
        return f"Patient/{rid}" if isinstance(rid, str) else None
    for element in _PATIENT_ELEMENTS:
        value = body.get(element)
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            parsed = parse_reference(value["reference"], local_bases)
            if parsed is not None and parsed.target_type == "Patient":
                return f"Patient/{parsed.target_id}"
    return None


__all__ = ["patient_reference"]
