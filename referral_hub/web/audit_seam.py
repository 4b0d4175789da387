"""Seams to the audit log for events the web UI produces (logins, patient reads in the staff pages).

The audit log (``referral_hub.audit.record``, issue 3 scope 5) is written by another part of the hub. When it is
installed these seams append rows in the caller's transaction (the view commits); without it they write a PHI-free
structured log line, so nothing is silently dropped. Never pass emails, names or passwords here: ids only (a
failed login for an unknown address is identified by a truncated hash of the typed address).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from referral_hub.extensions import db
from referral_hub.security.principal import Principal

log = logging.getLogger("referral_hub.audit.seam")


def _audit_record() -> Callable[..., None] | None:
    try:
        from referral_hub.audit import record
    except ImportError:  # the audit package is not installed in this build
        return None
    return record


def claimed_account_id(email: str) -> str:
    """A stable pseudonym for a typed address (for "failures against one account" without storing the address)."""
    return "email-sha256:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def _record_login(
    outcome: str, *, user_id: int | None, reason: str, subtype: str = "login", claimed: str | None = None
) -> None:
    """A sign-in step (``login``, ``totp``, ``logout``, ``password-reset``) succeeded (``"0"``) or was refused.

    :param user_id: the account concerned when known.
    :param reason: a short machine word (``ok``, ``bad_password``, ``unknown_account``, ``bad_totp`` …).
    :param claimed: for unknown accounts, :func:`claimed_account_id` of the typed address.
    """
    fields: dict[str, Any] = {
        "event_type": "login",
        "subtype": subtype,
        "action": "E",
        "outcome": outcome,
        "outcome_desc": reason,
        "principal_kind": "user",
        "principal_id": str(user_id) if user_id is not None else (claimed or "unknown"),
    }
    record = _audit_record()
    if record is None:
        log.info("audit login event", extra={"audit": fields})
        return
    record(db.session, **fields)


def _record_patient_read(principal: Principal | None, patient_id: str, *, subtype: str = "read") -> None:
    """Clinic staff opened a patient's page (``read``) or saw the patient in a list (``search-type``)."""
    fields: dict[str, Any] = {
        "event_type": "ui",
        "subtype": subtype,
        "action": "R" if subtype == "read" else "E",
        "resource_type": "Patient",
        "resource_id": patient_id,
        "patient_ref": f"Patient/{patient_id}",
    }
    if principal is not None:
        fields["principal"] = principal
    record = _audit_record()
    if record is None:
        log.info("audit patient event", extra={"audit": {k: v for k, v in fields.items() if k != "principal"}})
        return
    record(db.session, **fields)
