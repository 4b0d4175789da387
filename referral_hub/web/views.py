"""The app shell's own pages: home per role, language switch, the clinic patient list and page, admin overview."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select

from referral_hub.accounts.models import Membership, Organization, User
from referral_hub.accounts.services import active_membership
from referral_hub.extensions import db
from referral_hub.i18n import set_language_cookie, supported
from referral_hub.security.principal import current_principal
from referral_hub.web.access import authenticated, public, roles_required
from referral_hub.web.audit_seam import _record_patient_read
from referral_hub.web.navigation import nav_for
from referral_hub.web.patients import read_patient, search_patients

bp = Blueprint("web", __name__, template_folder="templates")


def _local_bases() -> tuple[str, ...]:
    return (current_app.config["FHIR_BASE_URL"],)


@bp.get("/")
@authenticated
def home() -> ResponseReturnValue:
    principal = current_principal()
    membership = active_membership(current_user, session.get("org_id"))  # type: ignore[arg-type]
    actions = [item for item in nav_for(principal) if item.endpoint not in ("web.home", "accounts.account")]
    previous = session.get("previous_login_at")
    return render_template(
        "web/home.html",
        membership=membership,
        actions=actions,
        principal=principal,
        previous_login_at=datetime.fromisoformat(previous) if previous else None,
    )


@bp.post("/language")
@public
def set_language() -> ResponseReturnValue:
    """The language switcher (a plain form: works without JavaScript). Signed-in users keep the choice."""
    code = supported(request.form.get("lang"))
    if code is None:
        abort(400)
    if current_user.is_authenticated:
        current_user.locale = code  # type: ignore[union-attr]
        db.session.commit()
    target = request.form.get("next", "")
    if not (target.startswith("/") and not target.startswith(("//", "/\\"))):
        target = url_for("web.home")
    response = redirect(target)
    set_language_cookie(response, code)
    return response


@bp.get("/patients")
@roles_required("clinic_staff")
def patients() -> ResponseReturnValue:
    principal = current_principal()
    assert principal is not None  # roles_required guarantees a signed-in principal
    query = request.args.get("q", "")[:100]
    found, total = search_patients(db.session, principal, _local_bases(), query)
    for patient in found:
        _record_patient_read(principal, patient.id, subtype="search-type")
    db.session.commit()
    return render_template("web/patients.html", patients=found, total=total, query=query)


@bp.get("/patients/<patient_id>")
@roles_required("clinic_staff")
def patient(patient_id: str) -> ResponseReturnValue:
    principal = current_principal()
    assert principal is not None
    found = read_patient(db.session, principal, _local_bases(), patient_id)
    if found is None:
        abort(404)
    _record_patient_read(principal, found.id)
    db.session.commit()
    return render_template("web/patient.html", patient=found)


@bp.get("/admin/accounts")
@roles_required("admin")
def admin_accounts() -> ResponseReturnValue:
    """Hub administrators: every organization with its member count (accounts are created with the CLI)."""
    counts = dict(
        db.session.execute(
            select(Membership.organization_id, func.count(func.distinct(Membership.user_id))).group_by(
                Membership.organization_id
            )
        ).all()
    )
    organizations = db.session.execute(select(Organization).order_by(Organization.kind, Organization.name)).scalars()
    users = db.session.execute(select(func.count(User.id))).scalar_one()
    return render_template("web/admin_accounts.html", organizations=list(organizations), counts=counts, users=users)


__all__ = ["bp"]
