"""Batch and transaction Bundles (FHIR R4 §3.1.0.11 / http.html#transaction).

A transaction is all-or-nothing: entries are processed in the order the specification prescribes (POST, then PUT,
then GET), ``urn:uuid:`` full URLs of created entries are resolved to the ids the server assigns and rewritten in
every reference of the Bundle, and the first failing entry rolls back the whole Bundle and is reported with its
index. A batch processes each entry on its own (in a savepoint) and reports each entry's outcome.

Every entry passes the same authorization as the equivalent single request (``referral_hub.policy.Access``):
scope per interaction, compartment visibility for reads and searches (404 outside it), and the create/update
rules. A refused entry fails a transaction as a whole; in a batch it is that entry's response.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl

from referral_hub.audit.rest import record_read, record_refusal, record_search, search_param_names
from referral_hub.fhir.batch import discard_pending, flush_batch
from referral_hub.fhir.outcomes import FhirError, OutcomeIssue, operation_outcome
from referral_hub.fhir.search import run_search
from referral_hub.fhir.search_params import all_resource_types
from referral_hub.fhir.store import ResourceStore, StoredResource, WriteResult, format_instant, is_valid_id
from referral_hub.policy import Access, AccessDenied, Target

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
MAX_ENTRIES = 1000
#: Types the server writes itself (audit log, Provenance); Bundles may read them, not write them.
READ_ONLY_TYPES = frozenset({"AuditEvent", "Provenance"})


def process_bundle(bundle: dict[str, Any], store: ResourceStore, base: str, *, access: Access) -> dict[str, Any]:
    """Run a batch or transaction Bundle and return the response Bundle (the caller's session is committed here).

    :param access: the caller's authorization; every entry is checked like the equivalent single request.
    """
    if bundle.get("resourceType") != "Bundle":
        raise FhirError.single(400, "invalid", "POST to the base URL takes a Bundle", "Bundle.resourceType")
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise FhirError.single(400, "invalid", "Bundle.type must be batch or transaction", "Bundle.type")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError.single(400, "structure", "Bundle.entry must be an array", "Bundle.entry")
    if len(entries) > MAX_ENTRIES:
        raise FhirError.single(413, "too-costly", f"At most {MAX_ENTRIES} entries per Bundle", "Bundle.entry")
    if kind == "transaction":
        return _transaction(entries, store, base, access)
    return _batch(entries, store, base, access)


def _entry_request(entry: Any, index: int) -> tuple[str, str]:
    where = f"Bundle.entry[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        raise FhirError.single(400, "required", "Each entry needs a request", f"{where}.request")
    method = entry["request"].get("method")
    url = entry["request"].get("url")
    if method not in _ORDER:
        raise FhirError.single(
            400, "invalid", "request.method must be GET, POST, PUT or DELETE", f"{where}.request.method"
        )
    if not isinstance(url, str) or not url:
        raise FhirError.single(400, "required", "request.url is required", f"{where}.request.url")
    return method, url


def _transaction(entries: list[Any], store: ResourceStore, base: str, access: Access) -> dict[str, Any]:
    session = store.session
    plans = [(index, entry, *_entry_request(entry, index)) for index, entry in enumerate(entries)]
    id_map = _assign_ids(plans)
    for _index, entry, _method, _url in plans:
        if isinstance(entry.get("resource"), dict):
            entry["resource"] = _rewrite_references(entry["resource"], id_map)
    responses: dict[int, dict[str, Any]] = {}
    try:
        for index, entry, method, url in sorted(plans, key=lambda p: (_ORDER[p[2]], p[0])):
            responses[index] = _run_entry(store, base, entry, method, url, index, id_map, access)
    except FhirError as exc:
        session.rollback()
        exc.issues = [_prefix(issue, index) for issue in exc.issues]
        raise
    except Exception:
        session.rollback()
        raise
    session.commit()
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [responses[i] for i in range(len(entries))],
    }


def _batch(entries: list[Any], store: ResourceStore, base: str, access: Access) -> dict[str, Any]:
    session = store.session
    responses: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        try:
            method, url = _entry_request(entry, index)
            with session.begin_nested():
                responses.append(_run_entry(store, base, entry, method, url, index, {}, access))
                flush_batch(session)  # this entry's derived rows commit or roll back with its savepoint
        except FhirError as exc:
            discard_pending(session)
            if isinstance(exc, AccessDenied):
                record_refusal(
                    session,
                    interaction=exc.interaction,
                    resource_type=exc.resource_type,
                    resource_id=exc.resource_id,
                    description=exc.issues[0].diagnostics if exc.issues else "refused",
                )
            responses.append({"response": {"status": _status_text(exc.status), "outcome": exc.outcome()}})
    session.commit()
    return {"resourceType": "Bundle", "type": "batch-response", "entry": responses}


def _prefix(issue: OutcomeIssue, index: int) -> OutcomeIssue:
    expression = issue.expression
    if expression and not expression.startswith("Bundle."):
        expression = (
            f"Bundle.entry[{index}].resource.{expression.split('.', 1)[1] if '.' in expression else expression}"
        )
    diagnostics = issue.diagnostics if issue.diagnostics.startswith("entry") else f"entry {index}: {issue.diagnostics}"
    return OutcomeIssue(issue.severity, issue.code, diagnostics, expression or f"Bundle.entry[{index}]")


def _assign_ids(plans: list[tuple[int, Any, str, str]]) -> dict[str, str]:
    """Give every POSTed entry its final id now, so references to its ``urn:uuid:`` fullUrl can be rewritten."""
    id_map: dict[str, str] = {}
    for _index, entry, method, url in plans:
        resource = entry.get("resource")
        full_url = entry.get("fullUrl")
        if method == "POST" and isinstance(resource, dict):
            new_id = str(uuid.uuid4())
            entry["_assigned_id"] = new_id
            if isinstance(full_url, str) and full_url.startswith("urn:"):
                id_map[full_url] = f"{resource.get('resourceType')}/{new_id}"
        elif method == "PUT" and isinstance(full_url, str) and full_url.startswith("urn:"):
            id_map[full_url] = url.split("?")[0]
    return id_map


def _rewrite_references(value: Any, id_map: dict[str, str]) -> Any:
    if not id_map:
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "reference" and isinstance(item, str) and item in id_map:
                out[key] = id_map[item]
            else:
                out[key] = _rewrite_references(item, id_map)
        return out
    if isinstance(value, list):
        return [_rewrite_references(item, id_map) for item in value]
    return value


def _target(stored: StoredResource) -> Target:
    return Target(stored.pk, stored.resource_type, stored.resource_id, stored.body)


def _run_entry(
    store: ResourceStore,
    base: str,
    entry: dict[str, Any],
    method: str,
    url: str,
    index: int,
    id_map: dict[str, str],
    access: Access,
) -> dict[str, Any]:
    where = f"Bundle.entry[{index}]"
    path, _, query = url.partition("?")
    path = path.strip("/")
    if path.startswith(base):
        path = path[len(base) :].strip("/")
    parts = path.split("/") if path else []
    if method == "GET":
        return _run_get(store, base, parts, query, where, access)
    if method == "DELETE":
        raise FhirError.single(405, "not-supported", "DELETE is not supported", f"{where}.request.method")
    resource = entry.get("resource")
    if not isinstance(resource, dict):
        raise FhirError.single(400, "required", f"{method} entries need a resource", f"{where}.resource")
    if parts and parts[0] in READ_ONLY_TYPES:
        raise FhirError.single(405, "not-supported", f"{parts[0]} is written by the server only", f"{where}.request")
    if not parts or parts[0] not in all_resource_types():
        raise FhirError.single(400, "not-supported", f"Unsupported resource type in '{url}'", f"{where}.request.url")
    if method == "POST":
        if len(parts) != 1 or resource.get("resourceType") != parts[0]:
            raise FhirError.single(400, "invalid", "POST url must be the resource type", f"{where}.request.url")
        access.require(parts[0], "create")
        access.check_create(resource)
        result = store.create(resource, assigned_id=entry.get("_assigned_id"))
        return _write_entry(result, base)
    if len(parts) != 2 or not is_valid_id(parts[1]):
        raise FhirError.single(400, "invalid", "PUT url must be Type/id", f"{where}.request.url")
    access.require(parts[0], "update", parts[1])
    try:
        current: StoredResource | None = store.read(parts[0], parts[1])
    except FhirError as exc:
        if exc.status != 404:
            raise
        current = None
    if current is None:
        access.check_create(resource)
    else:
        access.check_update(_target(current), resource)
    if_match = entry["request"].get("ifMatch")
    version = None
    if if_match is not None:
        from referral_hub.fhir.http import parse_if_match

        version = parse_if_match(str(if_match), parts[0])
    result = store.update(parts[0], parts[1], resource, if_match=version)
    return _write_entry(result, base)


def _run_get(
    store: ResourceStore, base: str, parts: list[str], query: str, where: str, access: Access
) -> dict[str, Any]:
    if not parts or parts[0] not in all_resource_types():
        raise FhirError.single(400, "not-supported", "Unsupported GET in bundle", f"{where}.request.url")
    if len(parts) == 1:
        access.require(parts[0], "search")
        args = parse_qsl(query, keep_blank_values=True)
        _parsed, result = run_search(store.session, parts[0], args, store.local_bases, access.search_scope())
        result.included = [row for row in result.included if access.may(row.resource_type, "read")]
        record_search(
            store.session,
            parts[0],
            search_param_names(args),
            [row.body for row in (*result.matches, *result.included)],
            store.local_bases,
        )
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
        if result.total is not None:
            bundle["total"] = result.total
        rows = [(r, "match") for r in result.matches] + [(r, "include") for r in result.included]
        if rows:
            bundle["entry"] = [
                {
                    "fullUrl": f"{base}/{r.resource_type}/{r.resource_id}",
                    "resource": r.body,
                    "search": {"mode": mode},
                }
                for r, mode in rows
            ]
        return {"resource": bundle, "response": {"status": "200 OK"}}
    if len(parts) == 2:
        access.require(parts[0], "read", parts[1])
        stored = store.read(parts[0], parts[1])
        interaction = "read"
    elif len(parts) == 4 and parts[2] == "_history":
        access.require(parts[0], "vread", parts[1])
        stored = store.vread(parts[0], parts[1], parts[3])
        interaction = "vread"
    else:
        raise FhirError.single(400, "not-supported", "Unsupported GET in bundle", f"{where}.request.url")
    access.check_visible(_target(stored), interaction)
    record_read(store.session, interaction, stored.body, store.local_bases, stored.version_id)
    return {
        "resource": stored.body,
        "response": {"status": "200 OK", "etag": stored.etag, "lastModified": format_instant(stored.last_updated)},
    }


def _write_entry(result: WriteResult, base: str) -> dict[str, Any]:
    stored = result.resource
    response: dict[str, Any] = {
        "status": "201 Created" if result.created else "200 OK",
        "location": f"{stored.resource_type}/{stored.resource_id}/_history/{stored.version_id}",
        "etag": stored.etag,
        "lastModified": format_instant(stored.last_updated),
    }
    if result.warnings:
        response["outcome"] = operation_outcome(result.warnings)
    return {
        "fullUrl": f"{base}/{stored.resource_type}/{stored.resource_id}",
        "resource": stored.body,
        "response": response,
    }


def _status_text(status: int) -> str:
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)
