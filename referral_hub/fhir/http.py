"""HTTP details of the FHIR API: media types, JSON bodies, FHIR responses."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import orjson
from flask import Request, Response, current_app, request

from referral_hub.fhir.outcomes import FhirError

FHIR_JSON = "application/fhir+json"
_ACCEPTED_BODY_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
_MAX_BODY = 10 * 1024 * 1024


def fhir_response(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON FHIR response with the R4 media type."""
    response = Response(orjson.dumps(body), status=status, mimetype=FHIR_JSON)
    response.headers["Content-Type"] = f"{FHIR_JSON}; charset=utf-8; fhirVersion=4.0"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def check_accept(req: Request) -> None:
    """Answer 406 when the client only accepts XML (the hub speaks JSON)."""
    fmt = req.args.get("_format")
    if fmt and fmt not in ("json", "application/json", FHIR_JSON, "application/json+fhir"):
        raise FhirError.single(406, "not-supported", "Only JSON is supported; use _format=json", "_format")
    accept = req.headers.get("Accept")
    if not accept:
        return
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if any(t in ("*/*", "application/*", "application/json", FHIR_JSON, "application/json+fhir") for t in types):
        return
    raise FhirError.single(406, "not-supported", f"Cannot answer in {accept}; the hub answers {FHIR_JSON}")


def json_body(req: Request) -> dict[str, Any]:
    """The request's JSON object. :raises FhirError: 415 wrong media type, 413 too large, 400 not a JSON object."""
    mimetype = (req.mimetype or "").lower()
    if mimetype not in _ACCEPTED_BODY_TYPES:
        raise FhirError.single(
            415, "not-supported", f"Send the resource as {FHIR_JSON} (got {req.mimetype or 'no Content-Type'})"
        )
    length = req.content_length
    if length is not None and length > _MAX_BODY:
        raise FhirError.single(413, "too-costly", "The request body is larger than 10 MB")
    raw = req.get_data(cache=False)
    if len(raw) > _MAX_BODY:
        raise FhirError.single(413, "too-costly", "The request body is larger than 10 MB")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FhirError.single(400, "structure", f"The body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise FhirError.single(400, "structure", "The body must be a JSON object (a FHIR resource)")
    return body


def parse_if_match(value: str | None, resource_type: str) -> int | None:
    """``W/"3"`` → 3. :raises FhirError: 400 on a malformed value."""
    if value is None:
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise FhirError.single(400, "invalid", f'If-Match must be a version ETag like W/"1", not {value!r}')
    return int(text)


def http_date(value: datetime) -> str:
    return format_datetime(value, usegmt=True)


def parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def local_bases() -> tuple[str, ...]:
    """Absolute bases that mean "this server": the configured one and the one this request came in on."""
    configured = current_app.config["FHIR_BASE_URL"].rstrip("/")
    seen = request.url_root.rstrip("/") + "/fhir"
    return (configured,) if seen == configured else (configured, seen)
