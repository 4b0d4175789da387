"""The versioned FHIR resource store.

Every write validates the resource (R4 structure, then the Gravity IG rules), stamps ``meta.versionId`` and
``meta.lastUpdated``, writes the current row, an immutable version row and the search-index rows, and runs the
write hooks — all in the caller's transaction, so a write is visible together with its index and its follow-up
jobs or not at all. Updates are compare-and-set on ``version_id``: two writers of the same version cannot both win,
whichever database is underneath.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from referral_hub.db_types import utcnow
from referral_hub.fhir import indexer
from referral_hub.fhir.batch import flush_batch, mark_data_written
from referral_hub.fhir.driver_sql import fetch
from referral_hub.fhir.hooks import WriteEvent, run_write_hooks
from referral_hub.fhir.models import (
    DateIndex,
    FhirResource,
    FhirResourceVersion,
    NumberIndex,
    ReferenceIndex,
    StringIndex,
    TokenIndex,
    UriIndex,
)
from referral_hub.fhir.outcomes import FhirError, OutcomeIssue
from referral_hub.fhir.references import parse_reference
from referral_hub.fhir.validation import ValidationError, validate_resource
from referral_hub.fhir.writes import insert_many_version_one, insert_version_one, replace_version

_MAX_CAS_RETRIES = 3

_TABLE = FhirResource.__table__
#: The current row of one resource. Built once, as plain Core with bound parameters: every read and update runs it,
#: and the ORM entity load cost three times as much CPU as the statement itself (measured 284 vs 98 µs).
_CURRENT_ROW = select(
    _TABLE.c.pk, _TABLE.c.resource_type, _TABLE.c.resource_id, _TABLE.c.version_id, _TABLE.c.last_updated, _TABLE.c.body
).where(_TABLE.c.resource_type == bindparam("resource_type"), _TABLE.c.resource_id == bindparam("resource_id"))
#: Only the body of one resource (grant computation and hooks need no more).
_CURRENT_BODY = select(_TABLE.c.body).where(
    _TABLE.c.resource_type == bindparam("resource_type"), _TABLE.c.resource_id == bindparam("resource_id")
)
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.")


@dataclass(frozen=True)
class StoredResource:
    """A resource as stored: the body already carries ``id`` and ``meta.versionId``/``meta.lastUpdated``."""

    pk: int
    resource_type: str
    resource_id: str
    version_id: int
    last_updated: datetime
    body: dict[str, Any]

    @property
    def etag(self) -> str:
        return f'W/"{self.version_id}"'


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a create or update: ``created`` distinguishes 201 from 200."""

    resource: StoredResource
    created: bool
    warnings: Sequence[OutcomeIssue] = ()


def format_instant(value: datetime) -> str:
    """FHIR ``instant`` with microseconds and an explicit UTC offset."""
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 64 and all(ch in _ID_CHARS for ch in value)


def _to_fhir_error(exc: ValidationError) -> FhirError:
    issues = [OutcomeIssue(i.severity, i.code, i.diagnostics, i.expression) for i in exc.issues]
    return FhirError(exc.http_status, issues)


class ResourceStore:
    """Reads and writes FHIR resources through one SQLAlchemy session (the caller commits).

    :param local_bases: absolute FHIR base URLs that denote this server (first one is canonical).
    """

    def __init__(self, session: Session, local_bases: Sequence[str]) -> None:
        self.session = session
        self.local_bases = tuple(base.rstrip("/") for base in local_bases)

    # ---- reads -------------------------------------------------------------------------------------------------
    def read(self, resource_type: str, resource_id: str) -> StoredResource:
        """The current version. :raises FhirError: 404 when unknown."""
        flush_batch(self.session)  # rows deferred earlier in this transaction (grants) decide visibility
        current = self._current_row(resource_type, resource_id)
        if current is None:
            raise FhirError.single(404, "not-found", f"{resource_type}/{resource_id} is not known")
        return current

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> StoredResource:
        """One historic version. :raises FhirError: 404 when the resource or the version is unknown."""
        row = self._current_row(resource_type, resource_id)
        if row is None or not version_id.isdigit():
            raise FhirError.single(
                404, "not-found", f"{resource_type}/{resource_id}/_history/{version_id} is not known"
            )
        version = self.session.execute(
            select(FhirResourceVersion).where(
                FhirResourceVersion.resource_pk == row.pk, FhirResourceVersion.version_id == int(version_id)
            )
        ).scalar_one_or_none()
        if version is None:
            raise FhirError.single(
                404, "not-found", f"{resource_type}/{resource_id}/_history/{version_id} is not known"
            )
        return StoredResource(
            row.pk, row.resource_type, row.resource_id, version.version_id, version.last_updated, version.body
        )

    def history(self, resource_type: str, resource_id: str) -> list[tuple[StoredResource, str]]:
        """Every version, newest first, with the HTTP method that wrote it."""
        row = self._current_row(resource_type, resource_id)
        if row is None:
            raise FhirError.single(404, "not-found", f"{resource_type}/{resource_id} is not known")
        versions = self.session.execute(
            select(FhirResourceVersion)
            .where(FhirResourceVersion.resource_pk == row.pk)
            .order_by(FhirResourceVersion.version_id.desc())
        ).scalars()
        return [
            (StoredResource(row.pk, row.resource_type, row.resource_id, v.version_id, v.last_updated, v.body), v.method)
            for v in versions
        ]

    def _current_row(self, resource_type: str, resource_id: str) -> StoredResource | None:
        params = {"resource_type": resource_type, "resource_id": resource_id}
        found = fetch(self.session, _CURRENT_ROW, params).fetchone()
        if found is None:
            return None
        pk, rtype, rid, version_id, last_updated, body = found
        return StoredResource(pk, rtype, rid, version_id, last_updated.replace(tzinfo=UTC), body)

    # ---- writes ------------------------------------------------------------------------------------------------
    def create(self, resource: dict[str, Any], *, workflow: bool = True, assigned_id: str | None = None) -> WriteResult:
        """Create with a server-assigned id (any id in the body is ignored, as FHIR create requires).

        :param assigned_id: an id the server chose earlier (transactions assign ids before writing so that
            ``urn:uuid:`` references can be rewritten first).
        """
        body = _copy_body(resource)
        body["id"] = assigned_id or str(uuid.uuid4())
        warnings = self._validate(body, None, workflow)
        return WriteResult(self._insert(body, "POST", workflow), True, warnings)

    def create_many(self, resources: Sequence[dict[str, Any]], *, workflow: bool = True) -> list[WriteResult]:
        """Create resources that carry their own new ids (derived records, e.g. screening extraction), in one
        round trip on PostgreSQL. Each is validated and runs its write hooks like a single create.

        :raises FhirError: on the first invalid resource (nothing is written then).
        """
        prepared = []
        for resource in resources:
            body = _copy_body(resource)
            if not is_valid_id(body.get("id")):
                raise FhirError.single(400, "invalid", "create_many needs a valid id on every resource")
            prepared.append((body, self._validate(body, None, workflow)))
        if not prepared:
            return []
        mark_data_written(self.session)
        items = []
        for body, _warnings in prepared:
            now = self._stamp(body, 1)
            items.append((body, now, "PUT", index_rows(body, self.local_bases)))
        pks = insert_many_version_one(self.session, items)
        results = []
        for (body, warnings), (_b, now, _m, _r), pk in zip(prepared, items, pks, strict=True):
            stored = StoredResource(pk, body["resourceType"], body["id"], 1, now, body)
            self._after_write(stored, None, workflow)
            results.append(WriteResult(stored, True, warnings))
        return results

    def update(
        self,
        resource_type: str,
        resource_id: str,
        resource: dict[str, Any],
        *,
        if_match: int | None = None,
        workflow: bool = True,
    ) -> WriteResult:
        """Update, or create with the client's id when it does not exist yet (update-as-create).

        :param if_match: the version the client last saw; a different current version gives 412.
        """
        if resource.get("resourceType") != resource_type:
            raise FhirError.single(
                400, "invalid", f"resourceType must be {resource_type} at this URL", f"{resource_type}.resourceType"
            )
        if resource.get("id") != resource_id:
            raise FhirError.single(400, "invalid", "The body id must equal the id in the URL", f"{resource_type}.id")
        if not is_valid_id(resource_id):
            raise FhirError.single(400, "invalid", "Ids are 1-64 characters of A-Z, a-z, 0-9, '-' and '.'")
        body = _copy_body(resource)
        for _attempt in range(_MAX_CAS_RETRIES):
            current = self._current_row(resource_type, resource_id)
            if current is None:
                if if_match is not None:
                    raise FhirError.single(412, "conflict", f"{resource_type}/{resource_id} does not exist (If-Match)")
                warnings = self._validate(body, None, workflow)
                try:
                    with self.session.begin_nested():
                        stored = self._insert(body, "PUT", workflow)
                except IntegrityError:
                    continue  # another writer created it just now: retry as an update
                return WriteResult(stored, True, warnings)
            if if_match is not None and if_match != current.version_id:
                raise _stale(resource_type, resource_id, if_match, current.version_id)
            previous = current.body
            warnings = self._validate(body, previous, workflow)
            stored = self._replace(current.pk, current.version_id, body)
            if stored is not None:
                self._after_write(stored, previous, workflow)
                return WriteResult(stored, False, warnings)
            if if_match is not None:
                fresh = self._current_row(resource_type, resource_id)
                raise _stale(resource_type, resource_id, if_match, fresh.version_id if fresh else None)
        raise FhirError.single(409, "conflict", "The resource changed repeatedly while updating; try again")

    def _validate(self, body: dict[str, Any], previous: dict[str, Any] | None, workflow: bool) -> list[OutcomeIssue]:
        try:
            warnings = validate_resource(body, previous, workflow=workflow)
        except ValidationError as exc:
            raise _to_fhir_error(exc) from None
        return [OutcomeIssue(i.severity, i.code, i.diagnostics, i.expression) for i in warnings]

    def _stamp(self, body: dict[str, Any], version_id: int) -> datetime:
        now = utcnow()
        meta = dict(body.get("meta") or {})
        meta["versionId"] = str(version_id)
        meta["lastUpdated"] = format_instant(now)
        body["meta"] = meta
        return now

    def _insert(self, body: dict[str, Any], method: str, workflow: bool) -> StoredResource:
        now = self._stamp(body, 1)
        mark_data_written(self.session)
        pk = insert_version_one(self.session, body, now, method, index_rows(body, self.local_bases))
        stored = StoredResource(pk, body["resourceType"], body["id"], 1, now, body)
        self._after_write(stored, None, workflow)
        return stored

    def _replace(self, pk: int, old_version: int, body: dict[str, Any]) -> StoredResource | None:
        now = self._stamp(body, old_version + 1)
        mark_data_written(self.session)
        if not replace_version(self.session, pk, old_version, body, now, index_rows(body, self.local_bases)):
            return None
        return StoredResource(pk, body["resourceType"], body["id"], old_version + 1, now, body)

    def _after_write(self, stored: StoredResource, previous: dict[str, Any] | None, workflow: bool) -> None:
        run_write_hooks(
            self.session,
            WriteEvent(
                stored.resource_type,
                stored.resource_id,
                stored.pk,
                stored.version_id,
                stored.last_updated,
                stored.body,
                previous,
                workflow,
            ),
        )


def _stale(resource_type: str, resource_id: str, expected: int, current: int | None) -> FhirError:
    return FhirError.single(
        412,
        "conflict",
        f"{resource_type}/{resource_id} is at version {current}, not {expected}: read it again and re-apply the change",
    )


#: Values orjson would write as something else (dates, dataclasses, subclasses) fail the dump instead.
_COPY_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def _copy_body(resource: dict[str, Any]) -> dict[str, Any]:
    """A copy of a JSON body that the store may stamp without touching the caller's dict.

    An orjson round trip: ``copy.deepcopy`` of a screening submission's ~17 bodies took 0.75-1.2 ms of CPU, this
    0.15 ms. A body that does not come back equal (NaN, which JSON writes as null; UUIDs or enums, which orjson
    writes as strings) or cannot be dumped (integers beyond 64 bits, non-string keys, lone surrogates) is
    deep-copied as before, so the validator still sees exactly what was given.
    """
    try:
        copied = orjson.loads(orjson.dumps(resource, option=_COPY_OPTIONS))
    except orjson.JSONEncodeError:
        return copy.deepcopy(resource)
    return copied if copied == resource else copy.deepcopy(resource)


def current_body(session: Session, resource_type: str, resource_id: str) -> dict[str, Any] | None:
    """The current body of one resource, or None; a prebuilt Core statement (see ``_CURRENT_ROW``)."""
    found = fetch(session, _CURRENT_BODY, {"resource_type": resource_type, "resource_id": resource_id}).fetchone()
    return None if found is None else found[0]


def index_rows(body: dict[str, Any], local_bases: tuple[str, ...]) -> dict[type, list[dict[str, Any]]]:
    """Turn the indexer's values into rows for each index table (without ``resource_pk``/``resource_type``)."""
    rows: dict[type, list[dict[str, Any]]] = {
        TokenIndex: [],
        ReferenceIndex: [],
        DateIndex: [],
        StringIndex: [],
        NumberIndex: [],
        UriIndex: [],
    }
    base: dict[str, Any] = {}
    for value in indexer.extract_index(body):
        if isinstance(value, indexer.TokenValue):
            rows[TokenIndex].append(
                {**base, "param": value.param, "system": _clip(value.system, 255), "code": _clip(value.code, 255)}
            )
        elif isinstance(value, indexer.ReferenceValue):
            parsed = parse_reference(value.reference, local_bases)
            if parsed is not None:
                rows[ReferenceIndex].append(
                    {
                        **base,
                        "param": value.param,
                        "target_type": parsed.target_type,
                        "target_id": parsed.target_id,
                        "url": _clip(parsed.url, 1024),
                    }
                )
        elif isinstance(value, indexer.DateValue):
            rows[DateIndex].append({**base, "param": value.param, "low": value.low, "high": value.high})
        elif isinstance(value, indexer.StringValue):
            rows[StringIndex].append(
                {
                    **base,
                    "param": value.param,
                    "value": _clip(indexer.normalize_string(value.value), 512) or "",
                    "exact": value.value,
                }
            )
        elif isinstance(value, indexer.NumberValue):
            rows[NumberIndex].append({**base, "param": value.param, "value": value.value, "system": None, "code": None})
        elif isinstance(value, indexer.QuantityValue):
            rows[NumberIndex].append(
                {
                    **base,
                    "param": value.param,
                    "value": value.value,
                    "system": _clip(value.system, 255),
                    "code": _clip(value.code or value.unit, 255),
                }
            )
        elif isinstance(value, indexer.UriValue):
            rows[UriIndex].append({**base, "param": value.param, "value": _clip(value.value, 1024) or ""})
    return rows


def _clip(value: str | None, length: int) -> str | None:
    return value if value is None or len(value) <= length else value[:length]
