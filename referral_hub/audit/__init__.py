"""The append-only audit log, exposed as FHIR AuditEvent, exported as CSV; Provenance on every write.

Public API:

* :func:`record` / :func:`audit_row` / :func:`record_many` — append audit rows in the caller's transaction
  (logins, token issuance, FHIR reads, refusals …);
* :mod:`referral_hub.audit.rest` — the FHIR layer's helpers (reads, searches, refusals);
* :mod:`referral_hub.audit.fhir_view` — AuditEvent read/search;
* ``init_app`` — installs the Provenance/audit write hook and the admin CSV download blueprint.
"""

from __future__ import annotations

from flask import Flask

from referral_hub.audit.models import AuditEventRow
from referral_hub.audit.record import (
    MAJOR_FAILURE,
    MINOR_FAILURE,
    SERIOUS_FAILURE,
    SUCCESS,
    audit_row,
    record,
    record_many,
)


def init_app(app: Flask) -> None:
    from referral_hub.audit import provenance
    from referral_hub.audit.views import bp

    provenance.install()
    app.register_blueprint(bp)


__all__ = [
    "MAJOR_FAILURE",
    "MINOR_FAILURE",
    "SERIOUS_FAILURE",
    "SUCCESS",
    "AuditEventRow",
    "audit_row",
    "init_app",
    "record",
    "record_many",
]
