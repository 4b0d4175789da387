"""Request logs are JSON with a request id and never carry query strings (where FHIR searches put PHI)."""

from __future__ import annotations

import io
import json
import logging

from flask import Flask

from tests.auth.support import program_bearer


def _capture(app: Flask) -> io.StringIO:
    stream = io.StringIO()
    handler = logging.getLogger("referral_hub").handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    return stream


def test_request_log_is_json_with_request_id_and_no_query_string(app: Flask) -> None:
    stream = _capture(app)
    response = app.test_client().get(
        "/fhir/Patient?family=Rivera&birthdate=1980-04-02",
        headers={"X-Request-ID": "support-ticket-4711", **program_bearer(app)},
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "support-ticket-4711"
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    request_lines = [line for line in lines if line["logger"] == "referral_hub.request"]
    assert request_lines[-1]["request_id"] == "support-ticket-4711"
    assert request_lines[-1]["path"] == "/fhir/Patient"
    assert request_lines[-1]["status"] == 200
    assert "Rivera" not in stream.getvalue()
    assert "1980-04-02" not in stream.getvalue()


def test_a_malformed_request_id_is_replaced_not_echoed(app: Flask) -> None:
    response = app.test_client().get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert response.headers["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(response.headers["X-Request-ID"]) == 32


def test_validation_errors_are_not_logged_with_the_body(app: Flask) -> None:
    stream = _capture(app)
    body = {"resourceType": "Patient", "name": [{"family": "Secretname"}], "birthDate": "1980-99-99"}
    response = app.test_client().post(
        "/fhir/Patient", json=body, headers={"Content-Type": "application/fhir+json", **program_bearer(app)}
    )
    assert response.status_code == 400
    assert "Secretname" not in stream.getvalue()
