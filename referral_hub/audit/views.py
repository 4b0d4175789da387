"""Audit download route for admins: ``GET /admin/audit/export.csv?since=YYYY-MM-DD``.

The app shell links to it; the route declares and enforces its role (admin only) with the shell's
``roles_required``, so the UI authorization matrix covers it and it is safe wherever it is linked.
The export is itself audited.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, stream_with_context
from flask import request as http_request

from referral_hub.audit.export import iter_csv
from referral_hub.audit.record import record
from referral_hub.extensions import db
from referral_hub.fhir.datetimes import parse_range
from referral_hub.policy.permissions import AUDIT_EXPORT_ROLES
from referral_hub.security.principal import current_principal
from referral_hub.web.access import roles_required

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@bp.get("/export.csv")
@roles_required(*sorted(AUDIT_EXPORT_ROLES))  # the web shell's declared-access decorator (login redirect, 403)
def export_csv() -> Response:
    principal = current_principal()
    if principal is None:
        abort(401)
    if principal.kind != "system" and not (principal.roles & AUDIT_EXPORT_ROLES):
        abort(403)
    since_text = http_request.args.get("since")
    since = None
    if since_text:
        parsed = parse_range(since_text)
        if parsed is None:
            abort(400, "since must be a date such as 2026-01-31")
        since = parsed[0]
    record(db.session, event_type="export", subtype="audit-export", action="E", query="since" if since else None)
    db.session.commit()
    filename = f"audit-{since_text or 'all'}.csv"
    return Response(
        stream_with_context(iter_csv(db.session, since)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


__all__ = ["bp"]
