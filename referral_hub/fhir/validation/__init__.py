"""Validation of every FHIR write: R4 structure plus the HL7 Gravity SDOHCC (STU 2.3) rules.

Pure Python — no Flask, database or HTTP. The REST layer calls ``validate_resource`` before storing, turns
``ValidationError.issues`` into an OperationOutcome and answers with ``ValidationError.http_status``:

* **400** — not a well-formed R4 resource: not a JSON object, unknown/unsupported ``resourceType``
  (``not-supported``), bad id, wrong JSON datatype, unknown element, missing R4-required element.
* **422** — well-formed, but breaks a required value set (``code-invalid``: we treat *all* terminology
  failures as 422, consistently), a base invariant, or an SDOHCC profile rule.
* **409** — a Task status change that is not an edge of the IG state machine (or a bad initial status).

The access-control layer additionally calls ``check_update_rights`` (issues with code ``forbidden`` → 403).
"""

from .issues import Issue, ValidationError
from .structure import SUPPORTED_RESOURCE_TYPES
from .update_rights import changed_elements, check_update_rights
from .validator import validate_resource

__all__ = [
    "SUPPORTED_RESOURCE_TYPES",
    "Issue",
    "ValidationError",
    "changed_elements",
    "check_update_rights",
    "validate_resource",
]
