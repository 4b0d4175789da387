"""The FHIR R4 REST API at ``/fhir``: thin views over the store, search and bundle services.

Each view parses HTTP, calls a service, commits once, and renders FHIR JSON. Every error — including ones Flask
raises itself (404, 405) — becomes an OperationOutcome with the right status, so no input yields an HTML page or
a 500.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from referral_hub.db_types import utcnow
from referral_hub.extensions import db
from referral_hub.fhir import bundles, capability
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
from referral_hub.fhir.search import execute_search, ignored_outcome, parse_search
from referral_hub.fhir.search_params import all_resource_types
from referral_hub.fhir.store import ResourceStore, StoredResource, WriteResult, format_instant

logger = logging.getLogger(__name__)
bp = Blueprint("fhir", __name__)


def _base() -> str:
    return current_app.config["FHIR_BASE_URL"].rstrip("/")


def _store() -> ResourceStore:
    return ResourceStore(db.session, local_bases())


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


@bp.before_request
def _negotiate() -> None:
    check_accept(request)


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
    logger.error("unexpected error in FHIR API", exc_info=exc)
    db.session.rollback()
    issue = OutcomeIssue("fatal", "exception", "Internal error; quote the X-Request-ID header when reporting it")
    return fhir_response(operation_outcome([issue]), 500)


# ---- capability --------------------------------------------------------------------------------------------------
@bp.get("/metadata")
def metadata() -> ResponseReturnValue:
    return fhir_response(capability.capability_statement(_base()))


# ---- system level ------------------------------------------------------------------------------------------------
@bp.post("")
@bp.post("/")
def system_bundle() -> ResponseReturnValue:
    body = json_body(request)
    response = bundles.process_bundle(body, _store(), _base())
    return fhir_response(response)


# ---- type level ----------------------------------------------------------------------------------------------------
@bp.post("/<resource_type>")
def create(resource_type: str) -> ResponseReturnValue:
    _check_type(resource_type)
    body = json_body(request)
    if body.get("resourceType") != resource_type:
        raise FhirError.single(
            400, "invalid", f"resourceType must be {resource_type} when posting to /{resource_type}", "resourceType"
        )
    result = _store().create(body)
    db.session.commit()
    return _write_response(result)


@bp.get("/<resource_type>")
def search(resource_type: str) -> ResponseReturnValue:
    _check_type(resource_type)
    return fhir_response(_search_bundle(resource_type, list(request.args.items(multi=True))))


@bp.post("/<resource_type>/_search")
def search_post(resource_type: str) -> ResponseReturnValue:
    _check_type(resource_type)
    if request.mimetype != "application/x-www-form-urlencoded":
        raise FhirError.single(415, "not-supported", "POST _search takes application/x-www-form-urlencoded")
    args = list(request.args.items(multi=True)) + list(request.form.items(multi=True))
    return fhir_response(_search_bundle(resource_type, args))


def _search_bundle(resource_type: str, args: list[tuple[str, str]]) -> dict[str, Any]:
    strict = "handling=strict" in request.headers.get("Prefer", "")
    parsed = parse_search(resource_type, args, local_bases(), strict=strict)
    result = execute_search(db.session, parsed)
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
        {"fullUrl": f"{base}/{row.resource_type}/{row.resource_id}", "resource": row.body, "search": {"mode": "match"}}
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
    _check_type(resource_type)
    stored = _store().read(resource_type, resource_id)
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
    _check_type(resource_type)
    body = json_body(request)
    if_match = parse_if_match(request.headers.get("If-Match"), resource_type)
    result = _store().update(resource_type, resource_id, body, if_match=if_match)
    db.session.commit()
    return _write_response(result)


@bp.get("/<resource_type>/<resource_id>/_history")
def history(resource_type: str, resource_id: str) -> ResponseReturnValue:
    _check_type(resource_type)
    versions = _store().history(resource_type, resource_id)
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
    stored = _store().vread(resource_type, resource_id, version_id)
    return fhir_response(stored.body, 200, _resource_headers(stored))
