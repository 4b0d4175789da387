"""Compartments: which organizations may see which stored resources, maintained in the writing transaction.

Grants (``fhir_compartment`` rows) come from two rules (issue 3, scope 4):

* **creator** — a resource created by a principal acting for an organization is granted to that organization
  (a clinic sees the patients and screenings it recorded);
* **referral Task** — a Task grants its requester's and its owner's organizations to itself and to what it
  references: ``focus`` (the ServiceRequest) and that ServiceRequest's ``supportingInfo``, ``reasonReference``
  and pertains-to-goal Goals, ``for`` (the Patient), and ``output`` (the Procedures performed). An
  organization is named by an Organization reference, a PractitionerRole (its ``organization``) or a
  HealthcareService (its ``providedBy``).

Task grants are computed just before the transaction commits rather than inside the write hook, so that a
transaction Bundle may create the Task before the ServiceRequest or Patient it points at. They are recomputed
from the committed-to-be body on every Task write that changes who or what the Task names, replacing the Task's
previous grants (``source_pk`` = the Task's pk).

Public directory types are visible to every authenticated principal and need no grants.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from referral_hub.fhir.batch import defer_rows
from referral_hub.fhir.models import FhirResource
from referral_hub.fhir.references import parse_reference
from referral_hub.fhir.search_params import PERTAINS_TO_GOAL_URL
from referral_hub.fhir.store import current_body
from referral_hub.policy.models import FhirCompartment

#: Directory data every authenticated principal may read (issue 3, scope 4).
PUBLIC_TYPES = frozenset(
    {"Organization", "Location", "HealthcareService", "Practitioner", "PractitionerRole", "Questionnaire"}
)

#: Task elements whose change means the Task's grants must be recomputed.
GRANT_ELEMENTS = ("requester", "owner", "focus", "for", "output")

_DIRTY_KEY = "policy.dirty_tasks"

#: ``source_pk`` of creator grants (no resource has pk 0; Task grants carry the Task's pk).
CREATOR = 0

#: FHIR Organization id → hub organization id. The mapping of an organization never changes once created (ids are
#: neither reused nor reassigned), so hits are cached for the process; misses are not (the organization may be
#: created later). Saves one query per Organization reference on every referral Task write.
_ORG_IDS: dict[str, int] = {}
#: FHIR Organizations that are not hub organizations (partners' own records), remembered briefly: an organization
#: registered later is picked up within ``_MISS_TTL_S`` on every node.
_NOT_HUB_ORGS: dict[str, float] = {}
_MISS_TTL_S = 30.0


def _local_bases() -> tuple[str, ...]:
    if has_app_context():
        return (current_app.config["FHIR_BASE_URL"].rstrip("/"),)
    return ()


def _local_target(reference: Any, bases: tuple[str, ...]) -> tuple[str, str] | None:
    if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
        return None
    parsed = parse_reference(reference["reference"], bases)
    if parsed is None or not parsed.is_local or parsed.target_type is None or parsed.target_id is None:
        return None
    return parsed.target_type, parsed.target_id


def organizations_for_reference(session: Session, reference: Any, bases: tuple[str, ...] | None = None) -> set[int]:
    """Hub organization ids a reference names: Organization, PractitionerRole.organization or
    HealthcareService.providedBy. Empty for patients, practitioners, external or unknown organizations."""
    from referral_hub.accounts.models import Organization

    bases = bases if bases is not None else _local_bases()
    target = _local_target(reference, bases)
    if target is None:
        return set()
    resource_type, resource_id = target
    if resource_type in ("PractitionerRole", "HealthcareService"):
        body = current_body(session, resource_type, resource_id)
        element = "organization" if resource_type == "PractitionerRole" else "providedBy"
        target = _local_target((body or {}).get(element), bases)
        if target is None:
            return set()
        resource_type, resource_id = target
    if resource_type != "Organization":
        return set()
    org_id = _ORG_IDS.get(resource_id)
    if org_id is None:
        missed_at = _NOT_HUB_ORGS.get(resource_id)
        if missed_at is not None and time.monotonic() - missed_at < _MISS_TTL_S:
            return set()
        org_id = session.execute(
            select(Organization.id).where(Organization.fhir_id == resource_id)
        ).scalar_one_or_none()
        if org_id is None:
            if len(_NOT_HUB_ORGS) > 10_000:
                _NOT_HUB_ORGS.clear()
            _NOT_HUB_ORGS[resource_id] = time.monotonic()
            return set()
        _ORG_IDS[resource_id] = org_id
    return {org_id}


def task_organizations(session: Session, task: dict[str, Any], bases: tuple[str, ...] | None = None) -> set[int]:
    """The organizations a Task grants: its requester's and its owner's."""
    bases = bases if bases is not None else _local_bases()
    return organizations_for_reference(session, task.get("requester"), bases) | organizations_for_reference(
        session, task.get("owner"), bases
    )


def _references(values: Iterable[Any]) -> list[Any]:
    return [v for v in values if isinstance(v, dict)]


def task_targets(session: Session, task: dict[str, Any], bases: tuple[str, ...]) -> set[tuple[str, str]]:
    """Local (type, id) of the resources a referral Task shares with its requester and owner."""
    refs: list[Any] = [task.get("focus"), task.get("for")]
    for output in task.get("output") or []:
        if isinstance(output, dict):
            refs.append(output.get("valueReference"))
    targets = {t for ref in refs if (t := _local_target(ref, bases)) is not None}
    for resource_type, resource_id in list(targets):
        if resource_type != "ServiceRequest":
            continue
        request = current_body(session, resource_type, resource_id) or {}
        linked = _references(request.get("supportingInfo") or [])
        linked += _references(request.get("reasonReference") or [])
        linked.append(request.get("subject"))
        for ext in request.get("extension") or []:
            if isinstance(ext, dict) and ext.get("url") == PERTAINS_TO_GOAL_URL:
                linked.append(ext.get("valueReference"))
        targets |= {t for ref in linked if (t := _local_target(ref, bases)) is not None}
    return targets


def refresh_task_grants(
    session: Session,
    task_pk: int,
    bases: tuple[str, ...] | None = None,
    *,
    created: bool = False,
    body: dict[str, Any] | None = None,
) -> None:
    """Replace the grants Task ``task_pk`` gives with the ones its current body implies.

    :param created: the Task was created in this transaction, so it has no grants to delete yet.
    :param body: the Task's body as last written in this transaction (read back from the store when not given).
    """
    bases = bases if bases is not None else _local_bases()
    if not created:
        session.execute(
            delete(FhirCompartment)
            .where(FhirCompartment.source_pk == task_pk)
            .execution_options(synchronize_session=False)
        )
    if body is None:
        body = session.execute(
            select(FhirResource.body).where(FhirResource.pk == task_pk, FhirResource.resource_type == "Task")
        ).scalar_one_or_none()
    if body is None:  # written in a savepoint that was rolled back
        return
    organizations = task_organizations(session, body, bases)
    if not organizations:
        return
    targets = task_targets(session, body, bases)
    by_type: dict[str, list[str]] = {}
    for resource_type, resource_id in targets:
        by_type.setdefault(resource_type, []).append(resource_id)
    matches = or_(
        FhirResource.pk == task_pk,
        *(
            and_(FhirResource.resource_type == rtype, FhirResource.resource_id.in_(ids))
            for rtype, ids in by_type.items()
        ),
    )
    pks = session.execute(select(FhirResource.pk).where(matches)).scalars().all()
    # The grants join the transaction's batch (one statement with the other derived rows, fhir/batch.py).
    defer_rows(
        session,
        FhirCompartment.__table__,
        [
            {"organization_id": org_id, "resource_pk": pk, "source_pk": task_pk}
            for org_id in sorted(organizations)
            for pk in pks
        ],
    )


def grant_to_creator(session: Session, resource_pk: int, organization_id: int) -> None:
    """The creator rule: ``organization_id`` sees the resource it created."""
    defer_rows(
        session,
        FhirCompartment.__table__,
        [{"organization_id": organization_id, "resource_pk": resource_pk, "source_pk": CREATOR}],
    )


def mark_task_dirty(
    session: Session, task_pk: int, *, created: bool = False, body: dict[str, Any] | None = None
) -> None:
    """Queue a Task for :func:`refresh_task_grants` at commit (see the module docstring for why not now)."""
    dirty = session.info.setdefault(_DIRTY_KEY, {})
    earlier = dirty.get(task_pk)
    dirty[task_pk] = (_local_bases(), created and (earlier is None or earlier[1]), body)


def flush_dirty_tasks(session: Session) -> None:
    """Session ``before_commit``: recompute the grants of every Task written in this transaction."""
    dirty = session.info.pop(_DIRTY_KEY, None)
    if not dirty:
        return
    for task_pk, (bases, created, body) in dirty.items():
        refresh_task_grants(session, task_pk, bases, created=created, body=body)


def grants_changed(body: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    if previous is None:
        return True
    return any(body.get(element) != previous.get(element) for element in GRANT_ELEMENTS)


__all__ = [
    "CREATOR",
    "GRANT_ELEMENTS",
    "PUBLIC_TYPES",
    "flush_dirty_tasks",
    "grant_to_creator",
    "grants_changed",
    "mark_task_dirty",
    "organizations_for_reference",
    "refresh_task_grants",
    "task_organizations",
    "task_targets",
]
