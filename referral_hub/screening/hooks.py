"""Extraction when a completed QuestionnaireResponse is stored (UI, ``/fhir``, or a completed patient Task).

Runs inside the writing transaction, so a response whose answers do not fit its instrument is refused with an
OperationOutcome and nothing is stored (issue 4). Extracted resources have deterministic ids derived from the
response id, and unchanged ones are not rewritten, so submitting or updating the same response never duplicates
anything; Observations that an amended response no longer yields are marked ``entered-in-error``, and health
concerns a clinician already reviewed are never overwritten.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import CompoundSelect, bindparam, literal_column, select, union_all
from sqlalchemy.orm import Session

from questionnaires import ResponseError, extract
from referral_hub.fhir.hooks import WriteEvent, on_write
from referral_hub.fhir.models import FhirResource, ReferenceIndex, UriIndex
from referral_hub.fhir.outcomes import FhirError, OutcomeIssue
from referral_hub.fhir.store import ResourceStore, current_body
from referral_hub.screening.instruments import instrument_for

_EXTRACTABLE = ("completed", "amended")
SDC_TEMP = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"


def _store(session: Session) -> ResourceStore:
    return ResourceStore(session, (current_app.config["FHIR_BASE_URL"],))


def _questionnaire_is_stored(session: Session, canonical: str) -> bool:
    url, _, version = canonical.partition("|")
    query = select(UriIndex.resource_pk).where(
        UriIndex.resource_type == "Questionnaire", UriIndex.param == "url", UriIndex.value == url
    )
    pks = [pk for (pk,) in session.execute(query)]
    if not pks:
        return False
    if not version:
        return True
    bodies = session.execute(select(FhirResource.body).where(FhirResource.pk.in_(pks))).scalars()
    return any(body.get("version") == version for body in bodies)


@on_write("QuestionnaireResponse")
def extract_on_store(session: Session, event: WriteEvent) -> None:
    """Score and extract a completed response; refuse responses to questionnaires the hub does not know."""
    if not event.workflow:
        return  # bulk loads carry their own, already extracted, Observations
    qr = event.body
    canonical = qr.get("questionnaire")
    instrument = instrument_for(session, canonical)
    if instrument is None:
        if isinstance(canonical, str) and _questionnaire_is_stored(session, canonical):
            return  # a known questionnaire without scoring rules (feedback, application forms): store only
        raise FhirError.single(
            422,
            "not-found",
            f"Questionnaire {canonical!r} is not known to this hub; load it first "
            "(referral-hub questionnaires load FILE --rules RULES)",
            "QuestionnaireResponse.questionnaire",
        )
    if qr.get("status") not in _EXTRACTABLE:
        return
    run_extraction(session, qr, instrument)


def run_extraction(session: Session, qr: dict[str, Any], instrument: Any) -> list[dict[str, Any]]:
    """Write the extracted resources; return them. :raises FhirError: 422 naming the offending item."""
    try:
        result = extract(qr, instrument)
    except ResponseError as exc:
        raise FhirError(
            422, [OutcomeIssue("error", "invalid", message, expr) for expr, message in exc.issues]
        ) from None
    store = _store(session)
    produced = {(r["resourceType"], r["id"]) for r in result.resources}
    existing, stale = _stored_state(session, qr["id"], produced)
    # New resources go to the store together (one round trip on PostgreSQL for a dozen Observations).
    store.create_many([r for r in result.resources if (r["resourceType"], r["id"]) not in existing], workflow=False)
    for resource in result.resources:
        key = (resource["resourceType"], resource["id"])
        current = existing.get(key)
        if current is None:
            continue
        if resource["resourceType"] == "Condition":
            continue  # staff may have confirmed or refuted it; their judgement wins over re-extraction
        if not _same(current, resource):
            store.update(resource["resourceType"], resource["id"], resource, workflow=False)
    for resource_id, body in stale:  # derived from this response, no longer produced by it
        if body.get("status") != "entered-in-error":
            store.update("Observation", resource_id, dict(body, status="entered-in-error"), workflow=False)
    return result.resources


def _stored_state(
    session: Session, qr_id: str, produced: set[tuple[str, str]]
) -> tuple[dict[tuple[str, str], dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """In one round trip, before anything is written: the current bodies of the resources this extraction
    produces, and the (id, body) of the Observations derived from the response that it no longer produces.

    The writes that follow touch only produced resources, so the second list is what a look-up after them would
    find. Both look-ups go through an index whatever the planner knows: the produced resources by
    (resource_type, resource_id) — by id alone it was a scan of the whole table — and the derived ones by the
    reference's target (``ix_fhir_idx_reference_target``) with the referring type checked on the resource row;
    constraining ``fhir_idx_reference.resource_type`` instead let PostgreSQL without statistics (a young
    database, autovacuum off) pick the (type, param, url) index and read every derived-from row of the hub.
    """
    params = {
        "types": sorted({rtype for rtype, _rid in produced}),
        "ids": sorted({rid for _rtype, rid in produced}),
        "qr_id": qr_id,
        "kept": sorted(rid for rtype, rid in produced if rtype == "Observation"),
    }
    existing: dict[tuple[str, str], dict[str, Any]] = {}
    stale: list[tuple[str, dict[str, Any]]] = []
    # On the session's own connection (same transaction): a Core statement built once, no ORM round.
    for rtype, rid, body, is_stale in session.connection().execute(_STORED_STATE, params):
        if is_stale:
            stale.append((rid, body))
        elif (rtype, rid) in produced:
            existing[(rtype, rid)] = body
    return existing, stale


def _stored_state_statement() -> CompoundSelect:
    """The statement of ``_stored_state``; its lists are expanding parameters, so one statement serves all."""
    columns = (FhirResource.resource_type, FhirResource.resource_id, FhirResource.body)
    current = select(*columns, literal_column("0").label("stale")).where(
        FhirResource.resource_type.in_(bindparam("types", expanding=True)),
        FhirResource.resource_id.in_(bindparam("ids", expanding=True)),
    )
    derived = select(ReferenceIndex.resource_pk).where(
        ReferenceIndex.target_type == "QuestionnaireResponse",
        ReferenceIndex.target_id == bindparam("qr_id"),
        ReferenceIndex.param == "derived-from",
    )
    stale = select(*columns, literal_column("1").label("stale")).where(
        FhirResource.pk.in_(derived),
        FhirResource.resource_type == "Observation",
        FhirResource.resource_id.not_in(bindparam("kept", expanding=True)),
    )
    return union_all(current, stale)


_STORED_STATE = _stored_state_statement()


def _same(stored: dict[str, Any], new: dict[str, Any]) -> bool:
    def strip(resource: dict[str, Any]) -> dict[str, Any]:
        meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
        return {**{k: v for k, v in resource.items() if k != "meta"}, "meta": meta}

    return strip(stored) == strip(new)


@on_write("Task")
def extract_on_patient_task_completion(session: Session, event: WriteEvent) -> None:
    """A Task For Patient (complete-questionnaire) completed with a questionnaire-response output extracts
    that response (gravity-sdoh-cc.md §3.9); the response must be about the Task's patient."""
    task = event.body
    if not event.workflow or task.get("status") != "completed":
        return
    codes = {(c.get("system"), c.get("code")) for c in (task.get("code") or {}).get("coding") or []}
    if (SDC_TEMP, "complete-questionnaire") not in codes:
        return
    if event.previous is not None and event.previous.get("status") == "completed":
        return
    for index, output in enumerate(task.get("output") or []):
        types = {(c.get("system"), c.get("code")) for c in (output.get("type") or {}).get("coding") or []}
        if (SDC_TEMP, "questionnaire-response") not in types:
            continue
        reference = (output.get("valueReference") or {}).get("reference", "")
        where = f"Task.output[{index}].valueReference"
        if not reference.startswith("QuestionnaireResponse/"):
            raise FhirError.single(
                422, "invalid", "The output must reference a QuestionnaireResponse on this hub", where
            )
        qr = current_body(session, "QuestionnaireResponse", reference.split("/", 1)[1])
        if qr is None:
            raise FhirError.single(422, "not-found", f"{reference} does not exist", where)
        if (qr.get("subject") or {}).get("reference") != (task.get("for") or {}).get("reference"):
            raise FhirError.single(422, "invalid", f"{reference} is about another patient than the Task", where)
        instrument = instrument_for(session, qr.get("questionnaire"))
        if instrument is not None and qr.get("status") in _EXTRACTABLE:
            run_extraction(session, qr, instrument)
