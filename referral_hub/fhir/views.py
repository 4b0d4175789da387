"""The FHIR R4 REST API at ``/fhir``: thin views over the store, search and bundle services.

Each view parses HTTP, calls a service, commits once, and renders FHIR JSON. Every error — including ones Flask
raises itself (404, 405) — becomes an OperationOutcome with the right status, so no input yields an HTML page or
a 500.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from referral_hub.audit import fhir_view as audit_events
from referral_hub.audit.rest import record_read, record_refusal, record_search, search_param_names
from referral_hub.auth import AuthError, bearer_principal
from referral_hub.auth.discovery import capability_security, smart_configuration
from referral_hub.db_types import utcnow
from referral_hub.extensions import db
from referral_hub.fhir import bundles, capability
from referral_hub.fhir.batch import autocommit_reads
from referral_hub.fhir.http import (
    check_accept,
    fhir_response,
    http_date,
    json_body,
    local_bases,
    parse_http_date,
    parse_if_match,
)
from referral_hub.fhir.outcomes import FhirError, OutcomeIssue, operation_outcome
from referral_hub.fhir.search import ignored_outcome, run_search
from referral_hub.fhir.search_params import all_resource_types
from referral_hub.fhir.store import ResourceStore, StoredResource, WriteResult, format_instant
from referral_hub.policy import Access, AccessDenied, Target
from referral_hub.security.principal import Principal, current_principal, set_current_principal

logger = logging.getLogger(__name__)
bp = Blueprint("fhir", __name__)

#: Endpoints answered without a principal: the CapabilityStatement and SMART discovery (issue 3, scope 3).
PUBLIC_ENDPOINTS = frozenset({"fhir.metadata", "fhir.smart_configuration"})
#: Server-written types: the hub records them (audit log, Provenance on every write); the API only reads them.
READ_ONLY_TYPES = frozenset({"AuditEvent", "Provenance"})


def _base() -> str:
    return current_app.config["FHIR_BASE_URL"].rstrip("/")


def _store() -> ResourceStore:
    return ResourceStore(db.session, local_bases())


def _check_writable(resource_type: str) -> None:
    if resource_type in READ_ONLY_TYPES:
        raise FhirError.single(
            405, "not-supported", f"{resource_type} is written by the server only; it cannot be created or changed"
        )


def _check_type(resource_type: str) -> None:
    if resource_type not in all_resource_types():
        raise FhirError.single(404, "not-supported", f"Resource type '{resource_type}' is not supported by this server")


def _resource_headers(stored: StoredResource) -> dict[str, str]:
    return {"ETag": stored.etag, "Last-Modified": http_date(stored.last_updated)}


def _write_response(result: WriteResult) -> ResponseReturnValue:
    stored = result.resource
    headers = _resource_headers(stored)
    headers["Location"] = f"{_base()}/{stored.resource_type}/{stored.resource_id}/_history/{stored.version_id}"
    status = 201 if result.created else 200
    prefer = request.headers.get("Prefer", "")
    if "return=minimal" in prefer:
        return "", status, headers
    if "return=OperationOutcome" in prefer:
        issues = list(result.warnings) or [OutcomeIssue("information", "informational", "Stored")]
        return fhir_response(operation_outcome(issues), status, headers)
    return fhir_response(stored.body, status, headers)


def _principal() -> Principal:
    principal = current_principal()
    if principal is None:  # _authenticate guarantees one; this guards a future route that skips it
        raise AuthError("missing_token", "Authentication is required")
    return principal


def _access() -> Access:
    access = g.get("fhir_access")
    if access is None:
        access = Access(db.session, _principal(), local_bases())
        g.fhir_access = access
    return access


def _target(stored: StoredResource) -> Target:
    return Target(stored.pk, stored.resource_type, stored.resource_id, stored.body)


@bp.before_request
def _negotiate() -> None:
    check_accept(request)


@bp.before_request
def _read_requests_autocommit() -> None:
    """Reads and searches change nothing but the audit log: spare them the BEGIN/COMMIT round trips."""
    if request.method in ("GET", "HEAD") or request.endpoint == "fhir.search_post":
        autocommit_reads(db.session())


@bp.before_request
def _authenticate() -> None:
    """Every FHIR request except discovery needs a principal: a bearer token (API clients) or the signed-in staff
    session the web layer already put on the request (the UI calling the API). A bearer token wins over a
    session."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    principal = bearer_principal(request.headers.get("Authorization"))
    if principal is None:
        principal = current_principal()
    if principal is None:
        raise AuthError("missing_token", "Authentication is required: send 'Authorization: Bearer <access token>'")
    set_current_principal(principal)


def _request_interaction() -> tuple[str, str | None, str | None]:
    """(interaction, resource type, id) of the current request, for auditing refusals."""
    parts = [p for p in request.path.split("/")[2:] if p]
    resource_type = parts[0] if parts else None
    resource_id = parts[1] if len(parts) > 1 and not parts[1].startswith("_") else None
    if request.method == "POST":
        interaction = "batch" if not parts else ("search" if parts[-1] == "_search" else "create")
    elif request.method == "PUT":
        interaction = "update"
    elif "_history" in parts:
        interaction = "vread" if len(parts) == 4 else "history"
    else:
        interaction = "read" if resource_id else "search"
    return interaction, resource_type, resource_id


def _audit_refusal(description: str, *, anonymous: bool = False, exc: AccessDenied | None = None) -> None:
    """Write a refusal to the audit log after discarding the refused request's own work."""
    db.session.rollback()
    interaction, resource_type, resource_id = _request_interaction()
    if exc is not None:
        interaction, resource_type, resource_id = exc.interaction, exc.resource_type, exc.resource_id
    try:
        if anonymous:
            from referral_hub.audit.record import MINOR_FAILURE, record

            record(
                db.session,
                event_type="rest",
                subtype=interaction,
                action="E" if interaction == "search" else "R",
                outcome=MINOR_FAILURE,
                outcome_desc=description,
                principal_kind="anonymous",
                principal_id="unknown",
                organization_id=None,
                resource_type=resource_type,
                resource_id=resource_id,
            )
        else:
            record_refusal(
                db.session,
                interaction=interaction,
                resource_type=resource_type,
                resource_id=resource_id,
                description=description,
            )
        db.session.commit()
    except Exception:  # the refusal is still answered; the audit failure itself is logged for operators
        logger.exception("could not record a refusal in the audit log")
        db.session.rollback()


@bp.errorhandler(AuthError)
def _auth_error(exc: AuthError) -> ResponseReturnValue:
    _audit_refusal(f"{exc.error}: {exc.description}", anonymous=True)
    code = "login" if exc.status == 401 else "security"
    outcome = operation_outcome([OutcomeIssue("error", code, exc.description)])
    return fhir_response(outcome, exc.status, {"WWW-Authenticate": exc.www_authenticate()})


@bp.errorhandler(AccessDenied)
def _access_denied(exc: AccessDenied) -> ResponseReturnValue:
    _audit_refusal(exc.issues[0].diagnostics if exc.issues else "refused", exc=exc)
    return fhir_response(exc.outcome(), exc.status, exc.headers)


@bp.errorhandler(FhirError)
def _fhir_error(exc: FhirError) -> ResponseReturnValue:
    return fhir_response(exc.outcome(), exc.status, exc.headers)


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _routing_error(exc: HTTPException) -> ResponseReturnValue:
    """Routing errors happen before a blueprint is chosen, so they are caught app-wide and answered as FHIR
    only under ``/fhir``."""
    if request.path == "/fhir" or request.path.startswith("/fhir/"):
        return _http_error(exc)
    return exc


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    code = {404: "not-found", 405: "not-supported", 413: "too-costly"}.get(status, "processing")
    issue = OutcomeIssue("error", code, exc.description or exc.name)
    headers = {}
    if status == 405 and exc.get_response().headers.get("Allow"):
        headers["Allow"] = exc.get_response().headers["Allow"]
    return fhir_response(operation_outcome([issue]), status, headers)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> ResponseReturnValue:
    if isinstance(exc, IntegrityError):
        # Two writers created the same id (or grant) at once; the loser's transaction is rolled back whole.
        db.session.rollback()
        issue = OutcomeIssue("error", "conflict", "A concurrent write conflicted with this one; try again")
        return fhir_response(operation_outcome([issue]), 409)
    logger.error("unexpected error in FHIR API", exc_info=exc)
    db.session.rollback()
    issue = OutcomeIssue("fatal", "exception", "Internal error; quote the X-Request-ID header when reporting it")
    return fhir_response(operation_outcome([issue]), 500)


# ---- capability --------------------------------------------------------------------------------------------------
_AUDIT_EVENT_CAPABILITY: dict[str, Any] = {
    "type": "AuditEvent",
    "documentation": "The hub's append-only audit log; admin and program_manager users, and program-organization "
    "clients with system/AuditEvent.rs.",
    "interaction": [{"code": "read"}, {"code": "search-type"}],
    "searchParam": [
        {"name": "patient", "type": "reference"},
        {"name": "agent", "type": "reference"},
        {"name": "date", "type": "date"},
        {"name": "action", "type": "token"},
        {"name": "outcome", "type": "token"},
        {"name": "_id", "type": "token"},
    ],
}


@bp.get("/metadata")
def metadata() -> ResponseReturnValue:
    statement = copy.deepcopy(capability.capability_statement(_base()))
    rest = statement["rest"][0]
    rest["security"] = capability_security()
    for entry in rest["resource"]:
        if entry["type"] in READ_ONLY_TYPES:
            entry["interaction"] = [i for i in entry["interaction"] if i["code"] not in ("create", "update")]
            entry["updateCreate"] = False
    rest["resource"].append(copy.deepcopy(_AUDIT_EVENT_CAPABILITY))
    return fhir_response(statement)


@bp.get("/.well-known/smart-configuration", endpoint="smart_configuration")
def smart_configuration_view() -> ResponseReturnValue:
    """SMART discovery at ``[FHIR base]/.well-known/smart-configuration``, where SMART clients look for it."""
    return jsonify(smart_configuration())


# ---- system level ------------------------------------------------------------------------------------------------
@bp.post("")
@bp.post("/")
def system_bundle() -> ResponseReturnValue:
    body = json_body(request)
    response = bundles.process_bundle(body, _store(), _base(), access=_access())
    return fhir_response(response)


# ---- type level ----------------------------------------------------------------------------------------------------
@bp.post("/<resource_type>")
def create(resource_type: str) -> ResponseReturnValue:
    _check_writable(resource_type)
    _check_type(resource_type)
    access = _access()
    access.require(resource_type, "create")
    body = json_body(request)
    if body.get("resourceType") != resource_type:
        raise FhirError.single(
            400, "invalid", f"resourceType must be {resource_type} when posting to /{resource_type}", "resourceType"
        )
    access.check_create(body)
    result = _store().create(body)
    db.session.commit()
    return _write_response(result)


@bp.get("/<resource_type>")
def search(resource_type: str) -> ResponseReturnValue:
    args = list(request.args.items(multi=True))
    if resource_type == "AuditEvent":
        return fhir_response(_audit_event_bundle(args))
    _check_type(resource_type)
    return fhir_response(_search_bundle(resource_type, args))


@bp.post("/<resource_type>/_search")
def search_post(resource_type: str) -> ResponseReturnValue:
    if resource_type != "AuditEvent":
        _check_type(resource_type)
    if request.mimetype != "application/x-www-form-urlencoded":
        raise FhirError.single(415, "not-supported", "POST _search takes application/x-www-form-urlencoded")
    args = list(request.args.items(multi=True)) + list(request.form.items(multi=True))
    if resource_type == "AuditEvent":
        return fhir_response(_audit_event_bundle(args))
    return fhir_response(_search_bundle(resource_type, args))


def _audit_event_bundle(args: list[tuple[str, str]]) -> dict[str, Any]:
    """``AuditEvent?…``: the audit log, newest first (``referral_hub.audit.fhir_view``)."""
    _access().require("AuditEvent", "search")
    page = audit_events.search(db.session, args, local_bases())
    record_search(db.session, "AuditEvent", search_param_names(args), [], local_bases())
    db.session.commit()
    base = _base()
    kept = [(k, v) for k, v in args if k != "_cursor"]
    links = [{"relation": "self", "url": f"{base}/AuditEvent" + (f"?{urlencode(args)}" if args else "")}]
    if page.next_cursor:
        links.append(
            {"relation": "next", "url": f"{base}/AuditEvent?{urlencode([*kept, ('_cursor', page.next_cursor)])}"}
        )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": {"lastUpdated": format_instant(_now())},
        "link": links,
    }
    if page.entries:
        bundle["entry"] = [
            {"fullUrl": f"{base}/AuditEvent/{e['id']}", "resource": e, "search": {"mode": "match"}}
            for e in page.entries
        ]
    return bundle


def _search_bundle(resource_type: str, args: list[tuple[str, str]]) -> dict[str, Any]:
    access = _access()
    access.require(resource_type, "search")
    strict = "handling=strict" in request.headers.get("Prefer", "")
    parsed, result = run_search(db.session, resource_type, args, local_bases(), access.search_scope(), strict=strict)
    # _include/_revinclude may reach types the caller has no scope for: those entries are left out.
    result.included = [row for row in result.included if access.may(row.resource_type, "read")]
    record_search(
        db.session,
        resource_type,
        search_param_names(args),
        [row.body for row in (*result.matches, *result.included)],
        local_bases(),
    )
    db.session.commit()
    base = _base()
    kept = [(k, v) for k, v in args if k != "_cursor" and k.split(":")[0] not in parsed.ignored]

    def link(relation: str, cursor: str | None) -> dict[str, str]:
        query = kept + ([("_cursor", cursor)] if cursor else [])
        return {"relation": relation, "url": f"{base}/{resource_type}" + (f"?{urlencode(query)}" if query else "")}

    self_cursor = request.args.get("_cursor")
    links = [link("self", self_cursor), link("first", None)]
    if result.next_cursor:
        links.append(link("next", result.next_cursor))
    if result.previous_cursor:
        links.append(link("previous", result.previous_cursor))
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{base}/{row.resource_type}/{row.resource_id}",
            "resource": row.body,
            "search": {"mode": "match", **result.entry_search.get(row.pk, {})},
        }
        for row in result.matches
    ]
    entries += [
        {
            "fullUrl": f"{base}/{row.resource_type}/{row.resource_id}",
            "resource": row.body,
            "search": {"mode": "include"},
        }
        for row in result.included
    ]
    warnings = ignored_outcome(parsed)
    if warnings:
        entries.append({"resource": operation_outcome(warnings), "search": {"mode": "outcome"}})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": {"lastUpdated": format_instant(_now())},
        "link": links,
    }
    if result.total is not None:
        bundle["total"] = result.total
    if entries:
        bundle["entry"] = entries
    return bundle


def _now() -> datetime:
    return utcnow()


# ---- instance level ------------------------------------------------------------------------------------------------
@bp.get("/<resource_type>/<resource_id>")
def read(resource_type: str, resource_id: str) -> ResponseReturnValue:
    access = _access()
    if resource_type == "AuditEvent":
        access.require("AuditEvent", "read", resource_id)
        body = audit_events.read(db.session, resource_id)
        record_read(db.session, "read", body, local_bases())
        db.session.commit()
        return fhir_response(body)
    _check_type(resource_type)
    access.require(resource_type, "read", resource_id)
    stored = _store().read(resource_type, resource_id)
    access.check_visible(_target(stored), "read")
    record_read(db.session, "read", stored.body, local_bases(), stored.version_id)
    db.session.commit()
    headers = _resource_headers(stored)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and if_none_match.strip() in (stored.etag, f'"{stored.version_id}"'):
        return "", 304, headers
    since = parse_http_date(request.headers.get("If-Modified-Since"))
    if since is not None and stored.last_updated.replace(microsecond=0) <= since:
        return "", 304, headers
    return fhir_response(stored.body, 200, headers)


@bp.put("/<resource_type>/<resource_id>")
def update(resource_type: str, resource_id: str) -> ResponseReturnValue:
    _check_writable(resource_type)
    _check_type(resource_type)
    access = _access()
    access.require(resource_type, "update", resource_id)
    body = json_body(request)
    if_match = parse_if_match(request.headers.get("If-Match"), resource_type)
    store = _store()
    current = _current_or_none(store, resource_type, resource_id)
    if current is None:
        access.check_create(body)  # update-as-create: the create rules apply
    else:
        access.check_update(_target(current), body)
    result = store.update(resource_type, resource_id, body, if_match=if_match)
    db.session.commit()
    return _write_response(result)


def _current_or_none(store: ResourceStore, resource_type: str, resource_id: str) -> StoredResource | None:
    try:
        return store.read(resource_type, resource_id)
    except FhirError as exc:
        if exc.status == 404:
            return None
        raise


@bp.get("/<resource_type>/<resource_id>/_history")
def history(resource_type: str, resource_id: str) -> ResponseReturnValue:
    _check_type(resource_type)
    access = _access()
    access.require(resource_type, "history", resource_id)
    versions = _store().history(resource_type, resource_id)
    access.check_visible(_target(versions[0][0]), "history")
    record_read(db.session, "history-instance", versions[0][0].body, local_bases())
    db.session.commit()
    base = _base()
    entries = []
    for stored, method in versions:
        url = f"{resource_type}/{resource_id}"
        entries.append(
            {
                "fullUrl": f"{base}/{url}",
                "resource": stored.body,
                "request": {"method": method, "url": url if method == "PUT" else resource_type},
                "response": {
                    "status": "201 Created" if stored.version_id == 1 else "200 OK",
                    "etag": stored.etag,
                    "lastModified": format_instant(stored.last_updated),
                },
            }
        )
    bundle = {
        "resourceType": "Bundle",
        "type": "history",
        "total": len(entries),
        "link": [{"relation": "self", "url": f"{base}/{resource_type}/{resource_id}/_history"}],
        "entry": entries,
    }
    return fhir_response(bundle)


@bp.get("/<resource_type>/<resource_id>/_history/<version_id>")
def vread(resource_type: str, resource_id: str, version_id: str) -> ResponseReturnValue:
    _check_type(resource_type)
    access = _access()
    access.require(resource_type, "vread", resource_id)
    stored = _store().vread(resource_type, resource_id, version_id)
    access.check_visible(_target(stored), "vread")
    record_read(db.session, "vread", stored.body, local_bases(), stored.version_id)
    db.session.commit()
    return fhir_response(stored.body, 200, _resource_headers(stored))
