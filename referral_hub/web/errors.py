"""Localized HTML error pages for the UI; API paths keep their own (FHIR OperationOutcome / JSON) answers.

Pages never show exception details: a 500 says what to do and quotes the request id for support (Flask has
already logged the exception with its traceback, server-side only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from referral_hub.accounts.setup import is_api_path
from referral_hub.extensions import db
from referral_hub.i18n import _l

TITLES = {
    400: _l("The request could not be understood"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
}
MESSAGES = {
    400: _l("Go back, reload the page and try again."),
    403: _l("Your role does not include this page. If you need it, ask your organization's administrator."),
    404: _l("Check the address, or go back to the home page."),
    405: _l("Go back, reload the page and try again."),
    429: _l("For your security, please wait a few minutes before trying again."),
    500: _l(
        "The problem was recorded. Try again in a moment; if it happens again, contact support with the code below."
    ),
}


def _render(status: int, message: Any = None) -> ResponseReturnValue:
    return (
        render_template(
            "web/error.html",
            status=status,
            title=TITLES.get(status, TITLES[400]),
            message=message or MESSAGES.get(status, MESSAGES[400]),
            request_id=g.get("request_id"),
        ),
        status,
    )


def _make_handler(code: int, previous: Callable[[Any], ResponseReturnValue] | None) -> Callable[..., Any]:
    def handle(exc: HTTPException) -> ResponseReturnValue:
        if is_api_path(request.path):
            if previous is not None:
                return previous(exc)
            return jsonify(error=exc.name), exc.code or code
        if code >= 500:
            db.session.rollback()
        return _render(exc.code or code)

    return handle


def _csrf_error(exc: CSRFError) -> ResponseReturnValue:
    return _render(400, _l("This form expired or was sent from another site. Reload the page and try again."))


def register_error_pages(app: Flask) -> None:
    """Install the UI handlers, keeping (and delegating to) handlers earlier blueprints put on API paths."""
    app_handlers = app.error_handler_spec.setdefault(None, {})
    for code in (400, 403, 404, 405, 429, 500):
        existing = app_handlers.get(code, {})
        previous = next(iter(existing.values()), None)
        app.register_error_handler(code, _make_handler(code, previous))
    app.register_error_handler(CSRFError, _csrf_error)
