"""Seams to the audit log for events the web UI produces (logins, patient reads in the staff pages).

The audit API (``referral_hub.audit``, issue 3 scope 5) is built alongside this code. Until it offers a recording
function, these seams write a PHI-free structured log line so nothing is silently dropped; once it exists, the two
functions below are the only place to change. Never pass emails, names or passwords here: ids only.
"""

from __future__ import annotations

import logging

from flask import has_request_context, request

from referral_hub.security.principal import Principal

log = logging.getLogger("referral_hub.audit.seam")


def _source() -> str | None:
    return request.remote_addr if has_request_context() else None


def _record_login(outcome: str, *, user_id: int | None, reason: str, subtype: str = "login") -> None:
    """A login (or logout / second-factor) success or failure.

    :param outcome: FHIR AuditEvent outcome code: ``"0"`` success, ``"4"`` refused.
    :param user_id: the account concerned when known (never the email that was typed).
    :param reason: a short machine word (``bad_password``, ``unknown_account``, ``bad_totp``, ``ok`` …).
    """
    log.info(
        "audit login event",
        extra={"audit": {"subtype": subtype, "outcome": outcome, "user_id": user_id, "reason": reason}},
    )


def _record_patient_read(principal: Principal | None, patient_id: str, *, subtype: str = "read") -> None:
    """Clinic staff opened a patient's page (``subtype="read"``) or listed patients (``"search-type"``)."""
    log.info(
        "audit patient event",
        extra={
            "audit": {
                "subtype": subtype,
                "principal": principal.id if principal else None,
                "organization_id": principal.organization_id if principal else None,
                "patient_ref": f"Patient/{patient_id}" if patient_id else None,
                "source": _source(),
            }
        },
    )
