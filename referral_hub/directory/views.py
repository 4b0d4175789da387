"""Staff pages of the directory (issue 5, scope 7) and the listing-check pages (scope 8).

* ``/directory/`` — find services: need chips, free text, where (the patient's home, prefilled server-side from
  ``?patient=<id>``, or a place typed by staff), distance, language, open now, free, accepting referrals, age.
  A plain GET form (bookmarkable, works without JavaScript); the patient's address never enters a URL: the form
  sends ``where=patient`` and the server reads the address again through the policy (and audits the read).
* ``/directory/services/<id>`` — one service: what, who, where, hours, languages, how to apply, freshness.
* ``/directory/verify/<token>`` — the one-click "still correct / needs changes" page of the freshness e-mails
  (public: the contact has no account; the signed single-use token is the credential).
* ``/directory/admin/checks`` — "needs changes" notes for the directory administrator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time as babel_format_time
from babel.dates import get_day_names
from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_timedelta, get_locale
from sqlalchemy import select

from referral_hub.directory import labels, settings
from referral_hub.directory.freshness import LinkProblem, answer_check, check_for_token
from referral_hub.directory.hsds_serialize import documents
from referral_hub.directory.models import ListingCheck
from referral_hub.directory.patient_context import PatientContext, read_patient_context
from referral_hub.extensions import db
from referral_hub.i18n import _, _l
from referral_hub.security.principal import current_principal
from referral_hub.web.access import authenticated, public, roles_required
from referral_hub.web.navigation import register_nav_item
from resource_directory.models import Organization, Service
from resource_directory.search import SearchError, SearchPage, SearchQuery, SearchResult, search

bp = Blueprint("directory", __name__, template_folder="templates")

#: Who refers people to services: clinic staff, and CBO staff for sub-referrals.
SEARCH_NAV_ROLES = {"clinic_staff", "cbo_staff", "cbo_admin"}
register_nav_item("directory.search_page", _l("Find services"), SEARCH_NAV_ROLES, order=20)

PER_PAGE = 20
MAX_TEXT = 200

#: Search-service field → the form field the error belongs next to, and the message staff read.
FIELD_ERRORS: dict[str, tuple[str, Any]] = {
    "near": (
        "near",
        _l("We could not find this place. Enter a ZIP code, an address with a ZIP code, or latitude,longitude."),
    ),
    "radius_km": ("radius", _l("Choose a distance from the list.")),
    "language": ("language", _l("Choose a language from the list.")),
    "age": ("age", _l("Enter an age in years, between 0 and 130.")),
    "need": ("need", _l("Choose a need from the list.")),
    "text": ("q", _l("Check the words you searched for.")),
    "page": ("page", _l("That page does not exist.")),
}


# ---------------------------------------------------------------------------------------------------------------
# Search page
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class SearchForm:
    """What the staff member chose; re-rendered exactly as typed (product.md: never lose what was typed)."""

    need: str = ""
    q: str = ""
    where: str = "place"  # "patient" | "place"
    near: str = ""
    radius: str = "5"
    language: str = ""
    age: str = ""
    open_now: bool = False
    free: bool = False
    accepting: bool = False
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Any, patient: PatientContext | None) -> SearchForm:
        first_visit = not (set(args) - {"patient"})
        if first_visit:
            # Coming from a patient: search near their home, in their language (both can be changed).
            return cls(
                where="patient" if patient and patient.address else "place",
                language=(patient.language or "") if patient else "",
            )
        try:
            page = max(1, int(args.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            need=args.get("need", "")[:64],
            q=args.get("q", "")[:MAX_TEXT],
            where="patient" if patient and args.get("where") == "patient" else "place",
            near=args.get("near", "")[:MAX_TEXT],
            radius=args.get("radius", "5")[:8],
            language=args.get("language", "")[:8],
            age=args.get("age", "")[:8],
            open_now=args.get("open_now") == "1",
            free=args.get("free") == "1",
            accepting=args.get("accepting") == "1",
            page=page,
        )

    def query_params(self, patient: PatientContext | None) -> dict[str, Any] | None:
        """Parameters for ``SearchQuery.from_params``; None when nothing was asked yet."""
        near = patient.address if self.where == "patient" and patient else self.near.strip()
        if self.where == "patient" and patient and not patient.address:
            self.errors["where"] = _("This patient has no address on file. Enter a place instead.")
        if self.radius not in {"", "any", *map(str, labels.RADIUS_MILES)}:
            self.errors["radius"] = str(FIELD_ERRORS["radius_km"][1])
        if self.need and self.need not in labels.NEEDS:
            self.errors["need"] = str(FIELD_ERRORS["need"][1])
        if self.errors:
            return None
        params: dict[str, Any] = {
            "need": self.need or None,
            "text": self.q.strip() or None,
            "near": near or None,
            "language": self.language or None,
            "age": self.age.strip() or None,
            "open_now": "1" if self.open_now else None,
            "free": "1" if self.free else None,
            "accepting": "1" if self.accepting else None,
            "page": str(self.page),
            "per_page": str(PER_PAGE),
        }
        if near and self.radius not in ("", "any"):
            params["radius_km"] = str(float(self.radius) * labels.KM_PER_MILE)
        return params

    def link_args(self, patient: PatientContext | None, **changes: Any) -> dict[str, str]:
        """The form as URL parameters (for paging links): ``where=patient``, never the patient's address."""
        values: dict[str, Any] = {
            "patient": patient.id if patient else None,
            "need": self.need,
            "q": self.q,
            "where": self.where if patient else None,
            "near": self.near if self.where != "patient" else None,
            "radius": self.radius,
            "language": self.language,
            "age": self.age,
            "open_now": "1" if self.open_now else None,
            "free": "1" if self.free else None,
            "accepting": "1" if self.accepting else None,
            "page": str(self.page),
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


@dataclass
class ResultView:
    """One result as the page shows it (all words already in the page's language)."""

    result: SearchResult
    distance: str | None
    status_label: str
    status_class: str
    hours: str
    open_now: bool | None
    freshness: str
    stale: bool
    reasons: list[str]
    languages: list[str]


def freshness_text(days: int | None) -> tuple[str, bool]:
    """ "Verified 3 months ago" / "Not verified yet", and whether the listing is past the freshness limit."""
    stale_after = current_app.config.get("DIRECTORY_STALE_AFTER_DAYS", 180)
    if days is None:
        return _("Not verified yet"), True
    if days <= 0:
        return _("Verified today"), False
    ago = format_timedelta(timedelta(days=days), granularity="day", threshold=1.0)
    return _("Verified %(ago)s ago", ago=ago), days > stale_after


def _clock(moment: datetime) -> str:
    return babel_format_time(moment, format="short", tzinfo=moment.tzinfo, locale=get_locale())


def hours_text(result: SearchResult) -> str:
    """Open now / closed, in the location's own time zone (the engine gives zone-aware instants)."""
    if result.open_now is True:
        if result.closes_at is not None:
            return _("Open now, until %(time)s", time=_clock(result.closes_at))
        return _("Open now")
    if result.open_now is False:
        if result.next_opens_at is not None:
            when = babel_format_datetime(
                result.next_opens_at, "EEEE", tzinfo=result.next_opens_at.tzinfo, locale=get_locale()
            )
            return _("Closed now. Opens %(day)s at %(time)s", day=when, time=_clock(result.next_opens_at))
        return _("Closed now")
    return _("Hours not listed")


def result_view(result: SearchResult) -> ResultView:
    label, css = labels.REFERRAL_STATUS.get(result.referral_status, labels.REFERRAL_STATUS["accepting"])
    freshness, stale = freshness_text(result.freshness_days)
    return ResultView(
        result=result,
        distance=labels.miles(result.distance_km) if result.distance_km is not None else None,
        status_label=str(label),
        status_class=css,
        hours=hours_text(result),
        open_now=result.open_now,
        freshness=freshness,
        stale=stale,
        reasons=[labels.translate_reason(r) for r in result.matched if not r.startswith("within ")],
        languages=[labels.language_name(name) for name in result.languages],
    )


def _patient(patient_id: str | None) -> PatientContext | None:
    if not patient_id:
        return None
    principal = current_principal()
    assert principal is not None  # @authenticated
    patient = read_patient_context(db.session, principal, patient_id[:64])
    if patient is None:
        abort(404)  # unknown or not this clinic's: the same answer (no existence leak)
    db.session.commit()  # the audit row of the read
    return patient


def _check_fields(form: SearchForm, params: dict[str, Any]) -> None:
    """Validate every field on its own, so each error shows next to its field at once (not one per submit)."""
    from resource_directory.geocoding import GeocodeInputError, parse_point

    for name in ("age", "language"):
        if params.get(name) is not None:
            try:
                SearchQuery.from_params({name: params[name]})
            except SearchError as error:
                field_name, message = FIELD_ERRORS.get(error.field, (name, error.message))
                form.errors[field_name] = str(message)
    if isinstance(params.get("near"), str):
        try:
            point = parse_point(params["near"], settings.geocoder(current_app, db.session))
        except GeocodeInputError:
            point = None
        if point is None:
            if form.where == "patient":
                form.errors["where"] = _("We could not place this patient's address. Enter a ZIP code instead.")
            else:
                form.errors["near"] = str(FIELD_ERRORS["near"][1])
        else:
            params["lat"], params["lng"] = point  # geocoded once, here (the search service takes the point)
            params["near"] = None


def _run(form: SearchForm, patient: PatientContext | None) -> SearchPage | None:
    params = form.query_params(patient)
    if params is None:
        return None
    asked = any(params.get(k) for k in ("need", "text", "near", "language", "age", "open_now", "free", "accepting"))
    if not asked:
        return None
    _check_fields(form, params)
    if form.errors:
        return None
    try:
        query = SearchQuery.from_params(params)
        return search(
            db.session,
            query,
            geocoder=settings.geocoder(current_app, db.session),
            default_timezone=settings.default_timezone(current_app),
        )
    except SearchError as error:
        name, message = FIELD_ERRORS.get(error.field, ("q", error.message))
        form.errors[name] = str(message)
        return None


@bp.get("/")
@authenticated
def search_page() -> ResponseReturnValue:
    patient = _patient(request.args.get("patient"))
    form = SearchForm.from_args(request.args, patient)
    found = _run(form, patient)
    results = [result_view(r) for r in found.results] if found else []
    pages: dict[str, str] = {}
    if found is not None:
        if found.page > 1:
            pages["previous"] = url_for(".search_page", **form.link_args(patient, page=found.page - 1))
        if found.page < found.total_pages:
            pages["next"] = url_for(".search_page", **form.link_args(patient, page=found.page + 1))
    back = url_for(".search_page", **form.link_args(patient))
    return render_template(
        "directory/search.html",
        form=form,
        patient=patient,
        found=found,
        results=results,
        pages=pages,
        back=back,
        needs=labels.NEEDS,
        languages=labels.LANGUAGE_CHOICES,
        radius_choices=labels.RADIUS_MILES,
    )


# ---------------------------------------------------------------------------------------------------------------
# Service page
# ---------------------------------------------------------------------------------------------------------------


def schedule_text(schedule: dict[str, Any]) -> str:
    """One HSDS schedule in words: "Mon, Wed 09:00–17:00" (days in the page's language), or its description."""
    names = get_day_names("abbreviated", locale=get_locale())
    index = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
    days = [str(names[index[code[-2:]]]) for code in str(schedule.get("byday") or "").split(",") if code[-2:] in index]
    opens, closes = schedule.get("opens_at"), schedule.get("closes_at")
    times = f"{str(opens)[:5]}–{str(closes)[:5]}" if opens and closes else ""
    text = " ".join(p for p in (", ".join(days), times) if p)
    notes = schedule.get("description") or schedule.get("notes")
    return " · ".join(p for p in (text, str(notes) if notes else "") if p) or _("Hours not listed")


def _back_link(value: str | None) -> str:
    default = url_for(".search_page")
    if value and value.startswith("/directory/") and not value.startswith("//"):
        return value
    return default


@bp.get("/services/<service_id>")
@authenticated
def service_page(service_id: str) -> ResponseReturnValue:
    service = db.session.get(Service, service_id[:64])
    if service is None:
        abort(404)
    doc = documents(db.session, "service", [service], full=True)[0]
    organization = db.session.get(Organization, service.organization_id)
    label, css = labels.REFERRAL_STATUS.get(service.referral_status, labels.REFERRAL_STATUS["accepting"])
    days = (datetime.now().date() - service.assured_date).days if service.assured_date else None
    freshness, stale = freshness_text(days)
    needs = sorted(
        {a["taxonomy_term"]["name"] for a in doc.get("attributes", []) if a.get("taxonomy_term", {}).get("name")}
    )
    return render_template(
        "directory/service.html",
        service=doc,
        organization=organization,
        status_label=str(label),
        status_class=css,
        freshness=freshness,
        stale=stale,
        terms=needs,
        schedule_text=schedule_text,
        language_name=labels.language_name,
        back=_back_link(request.args.get("back")),
    )


# ---------------------------------------------------------------------------------------------------------------
# Listing checks (freshness e-mails)
# ---------------------------------------------------------------------------------------------------------------


def _link_problem(problem: LinkProblem) -> ResponseReturnValue:
    status = 410 if problem.reason == "used" else 404
    return render_template("directory/verify_problem.html", reason=problem.reason, check=problem.check), status


@bp.route("/verify/<token>", methods=["GET", "POST"])
@public
def verify(token: str) -> ResponseReturnValue:
    """GET shows the listing and one button (mail scanners open links: a GET never answers); POST answers."""
    try:
        check = check_for_token(db.session, token[:512])
    except LinkProblem as problem:
        return _link_problem(problem)
    service = db.session.get(Service, check.service_id)
    if service is None:
        return _link_problem(LinkProblem("invalid"))
    if request.method == "POST":
        answer = request.form.get("answer", "")
        if answer not in ("confirmed", "needs_changes"):
            abort(400)
        note = request.form.get("note", "")[:4000]
        try:
            answered = answer_check(db.session, check, answer, note)
        except LinkProblem as problem:
            db.session.rollback()
            return _link_problem(problem)
        db.session.commit()
        return render_template("directory/verify_done.html", answer=answered.check.answer, service=service)
    organization = db.session.get(Organization, service.organization_id)
    doc = documents(db.session, "service", [service], full=True)[0]
    chosen = request.args.get("answer") if request.args.get("answer") in ("confirmed", "needs_changes") else None
    return render_template(
        "directory/verify.html",
        service=doc,
        organization=organization,
        chosen=chosen,
        schedule_text=schedule_text,
        token=token,
    )


@bp.get("/admin/checks")
@roles_required("admin")
def admin_checks() -> ResponseReturnValue:
    """What listing contacts said needs changing (newest first), and how many checks were answered."""
    rows = db.session.execute(
        select(ListingCheck, Service.name)
        .join(Service, Service.id == ListingCheck.service_id, isouter=True)
        .where(ListingCheck.answer == "needs_changes")
        .order_by(ListingCheck.answered_at.desc())
        .limit(200)
    ).all()
    counts = {
        "sent": db.session.query(ListingCheck).filter(ListingCheck.sent_at.is_not(None)).count(),
        "confirmed": db.session.query(ListingCheck).filter(ListingCheck.answer == "confirmed").count(),
        "needs_changes": db.session.query(ListingCheck).filter(ListingCheck.answer == "needs_changes").count(),
    }
    return render_template("directory/admin_checks.html", rows=rows, counts=counts, format_date=format_date)


__all__ = ["bp", "freshness_text", "hours_text", "schedule_text"]
