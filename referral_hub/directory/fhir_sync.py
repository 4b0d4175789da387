"""Keeps the FHIR projection of the directory (``/fhir`` Organization, Location, HealthcareService) in step with
the HSDS tables (issue 5, scope 6).

Why a stored projection rather than answering ``/fhir`` from the HSDS tables on the fly: the projected resources
then get everything the FHIR store gives every resource — versions and ``_history``, ``_lastUpdated`` that changes
only when the listing does, the standard search parameters, ``_include``/``_revinclude`` from referrals
(``ServiceRequest.performer`` → HealthcareService), access control and audit — with no second implementation.
Distance searches still go through the directory's one search service (:mod:`referral_hub.directory.fhir_search`).

:func:`project_directory` compares what the HSDS rows map to (:mod:`referral_hub.directory.fhir_mapping`) with
what the store holds and writes only the differences, so running it again is cheap and changes nothing. Objects
that left the directory are kept but marked inactive (FHIR directories retire, never delete: referrals point at
them). It runs as the ``directory.project_fhir`` job after imports and geocoding, and from
``referral-hub directory project-fhir``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from referral_hub.directory import fhir_mapping
from referral_hub.directory.hsds_serialize import DocumentBuilder
from referral_hub.fhir.models import FhirResource, TokenIndex
from referral_hub.fhir.store import ResourceStore
from referral_hub.fhir.tags import DIRECTORY_TAG, RECORD_SOURCE_SYSTEM, has_directory_tag
from referral_hub.jobs import enqueue, job
from resource_directory.models import Attribute, Organization, Service, Taxonomy, TaxonomyTerm
from resource_directory.models import Location as HsdsLocation
from resource_directory.taxonomy import SDOH_CATEGORIES, terms_for_category

CHUNK = 500
PROJECTED_TYPES = ("Organization", "Location", "HealthcareService")

#: What each HSDS object embeds for its mapping (one ``IN (…)`` query per key and chunk).
_CHILDREN = {
    "organization": {"organization": ["phones", "organization_identifiers"]},
    "location": {"location": ["addresses", "phones", "schedules"]},
    "service": {
        "service": [
            "organization",
            "program",
            "phones",
            "schedules",
            "languages",
            "cost_options",
            "service_at_locations",
        ]
    },
}


@dataclass
class ProjectionReport:
    """Counts per FHIR type: created, updated (the listing changed), unchanged, retired (left the directory)."""

    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    updated: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unchanged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    retired: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0

    def summary(self) -> str:
        parts = []
        for kind in PROJECTED_TYPES:
            parts.append(
                f"{kind}: {self.created[kind]} created, {self.updated[kind]} updated, "
                f"{self.unchanged[kind]} unchanged, {self.retired[kind]} retired"
            )
        return "; ".join(parts) + f" ({self.seconds:.1f}s)"

    @property
    def changed(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values()) + sum(self.retired.values())


def category_index(session: Session) -> dict[str, list[str]]:
    """Taxonomy term id → the Gravity SDOH categories whose crosswalk reaches it (narrower terms included)."""
    index: dict[str, list[str]] = defaultdict(list)
    for code in SDOH_CATEGORIES:
        for term in terms_for_category(session, code):
            index[term.id].append(code)
    return index


def _chunks(session: Session, model: Any) -> Iterator[list[Any]]:
    """Every row of ``model`` in id order, ``CHUNK`` at a time (keyset paging: constant memory)."""
    last: str | None = None
    while True:
        statement = select(model).order_by(model.id).limit(CHUNK)
        if last is not None:
            statement = statement.where(model.id > last)
        rows = list(session.execute(statement).scalars())
        if not rows:
            return
        yield rows
        last = rows[-1].id
        for row in rows:
            session.expunge(row)  # the projection only reads; keep the identity map small


def _attributes(
    session: Session, entity: str, ids: Sequence[str], taxonomies: dict[str, dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Taxonomy attributes of ``entity`` rows, each with its term and taxonomy (for codings and categories)."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = session.execute(
        select(Attribute.link_id, Attribute.taxonomy_term_id, TaxonomyTerm)
        .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
        .where(Attribute.link_entity == entity, Attribute.link_id.in_(list(ids)))
        .order_by(Attribute.link_id, Attribute.id)
    )
    for link_id, term_id, term in rows:
        term_doc = {"id": term.id, "code": term.code, "name": term.name, "taxonomy_id": term.taxonomy_id}
        if term.taxonomy_id in taxonomies:
            term_doc["taxonomy_detail"] = taxonomies[term.taxonomy_id]
        found[link_id].append({"taxonomy_term_id": term_id, "taxonomy_term": term_doc})
    return found


def _mapped(session: Session) -> Iterator[list[dict[str, Any]]]:
    """FHIR resources for the whole directory, a chunk (one HSDS table, ≤ ``CHUNK`` rows) at a time."""
    terms = category_index(session)
    taxonomies = {
        t.id: {"id": t.id, "uri": t.uri, "version": t.version} for t in session.execute(select(Taxonomy)).scalars()
    }
    for rows in _chunks(session, Organization):
        yield [fhir_mapping.organization(doc) for doc in _with_children(session, "organization", rows)]
    for rows in _chunks(session, HsdsLocation):
        yield [fhir_mapping.location(doc) for doc in _with_children(session, "location", rows)]
    for rows in _chunks(session, Service):
        docs = _with_children(session, "service", rows)
        attributes = _attributes(session, "service", [row.id for row in rows], taxonomies)
        for doc, row in zip(docs, rows, strict=True):
            doc["attributes"] = attributes.get(doc["id"], [])
            doc["referral_status"] = row.referral_status  # a hub column, not part of the HSDS document
        yield [fhir_mapping.healthcare_service(doc, terms) for doc in docs]


def _with_children(session: Session, table: str, rows: Sequence[Any]) -> list[dict[str, Any]]:
    return DocumentBuilder(session).build(table, rows, children=_CHILDREN[table])


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    """The body without what the store stamps (``meta.versionId``/``lastUpdated``), for change detection."""
    out = {k: v for k, v in body.items() if k != "meta"}
    out["meta.tag"] = (body.get("meta") or {}).get("tag")
    return out


def _current(session: Session, resource_type: str, ids: Sequence[str]) -> dict[str, FhirResource]:
    rows = session.execute(
        select(FhirResource).where(FhirResource.resource_type == resource_type, FhirResource.resource_id.in_(list(ids)))
    ).scalars()
    return {row.resource_id: row for row in rows}


def _write(
    store: ResourceStore, bodies: list[dict[str, Any]], report: ProjectionReport, seen: set[tuple[str, str]]
) -> None:
    if not bodies:
        return
    resource_type = bodies[0]["resourceType"]
    current = _current(store.session, resource_type, [b["id"] for b in bodies])
    new = []
    for body in bodies:
        seen.add((resource_type, body["id"]))
        row = current.get(body["id"])
        if row is None:
            new.append(body)
        elif _comparable(row.body) == _comparable(body):
            report.unchanged[resource_type] += 1
        else:
            if not has_directory_tag(row.body):
                continue  # a resource of the same id that the directory does not own: never overwrite it
            store.update(resource_type, body["id"], body, if_match=row.version_id, workflow=False)
            report.updated[resource_type] += 1
    if new:
        store.create_many(new, workflow=False)
        report.created[resource_type] += len(new)


def _retire(store: ResourceStore, seen: set[tuple[str, str]], report: ProjectionReport) -> None:
    """Mark projected resources whose HSDS object is gone as inactive (once; later runs find them unchanged)."""
    tagged = select(TokenIndex.resource_pk).where(
        TokenIndex.param == "_tag",
        TokenIndex.system == RECORD_SOURCE_SYSTEM,
        TokenIndex.code == DIRECTORY_TAG["code"],
    )
    projected = store.session.execute(
        select(FhirResource.pk, FhirResource.resource_type, FhirResource.resource_id).where(
            FhirResource.pk.in_(tagged), FhirResource.resource_type.in_(PROJECTED_TYPES)
        )
    ).all()
    gone = [pk for pk, resource_type, resource_id in projected if (resource_type, resource_id) not in seen]
    for start in range(0, len(gone), CHUNK):
        rows = store.session.execute(select(FhirResource).where(FhirResource.pk.in_(gone[start : start + CHUNK])))
        for row in list(rows.scalars()):
            retired = _retired_body(row.body)
            if retired != row.body:
                store.update(row.resource_type, row.resource_id, retired, if_match=row.version_id, workflow=False)
                report.retired[row.resource_type] += 1


def _retired_body(body: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in body.items() if k != "meta"}
    out["meta"] = {"tag": (body.get("meta") or {}).get("tag")}
    if body["resourceType"] == "Location":
        out["status"] = "inactive"
    else:
        out["active"] = False
    if _comparable(out) == _comparable(body):
        return body
    return out


def project_directory(session: Session, *, progress: Callable[[str], None] | None = None) -> ProjectionReport:
    """Bring the FHIR projection up to date with the directory; the caller commits."""
    started = time.perf_counter()
    report = ProjectionReport()
    store = ResourceStore(session, (current_app.config["FHIR_BASE_URL"],))
    seen: set[tuple[str, str]] = set()
    for bodies in _mapped(session):
        _write(store, bodies, report, seen)
        if progress is not None:
            progress(f"{bodies[0]['resourceType']}: {len(seen)} projected so far")
    _retire(store, seen, report)
    report.seconds = time.perf_counter() - started
    return report


def request_projection(session: Session) -> None:
    """Enqueue a projection run in the caller's transaction (it runs after the commit that changed the directory)."""
    enqueue("directory.project_fhir", session=session)


@job("directory.project_fhir", queue="default")
def project_fhir_job(session: Session) -> None:
    """Background form of :func:`project_directory`. Idempotent: a re-run writes nothing new."""
    report = project_directory(session)
    current_app.logger.info("directory FHIR projection: %s", report.summary())
