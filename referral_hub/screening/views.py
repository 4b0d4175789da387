"""Staff screening pages: register a patient, screen them with any loaded instrument, review the findings.

Every page is for clinic staff only (``roles_required("clinic_staff")``) and only for patients the policy module
lets their clinic see (``Access.search_scope``: the clinic created the patient or is party to a referral); other
patients answer 404 so their existence does not leak. Every write goes through the FHIR store, so validation,
the extraction hook, compartments, Provenance and the audit log's C/U rows apply exactly as on ``/fhir``; every
read and search of patient data on these pages writes an audit row here (event type ``ui``).

Errors never become a 500 or lose input: a bad form is shown again with the typed values and the error next to
the field, and a refusal by the store (``FhirError``) is rolled back and shown the same way.

URLs keep the patient in the path and the screening in the query string (``?response=<id>``), so each page
answers 200 for its own patient without further arguments (the authorization-matrix test opens every route).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from questionnaires import Findings, Instrument, ResponseError, extract, score
from referral_hub.audit import record
from referral_hub.db_types import utcnow
from referral_hub.extensions import db
from referral_hub.fhir.models import FhirResource
from referral_hub.fhir.outcomes import FhirError
from referral_hub.fhir.search import execute_search, parse_search
from referral_hub.fhir.store import ResourceStore, StoredResource, format_instant
from referral_hub.i18n import _
from referral_hub.policy import Access, Target
from referral_hub.screening import concerns, renderer
from referral_hub.screening.forms import PATIENT_LANGUAGES, ConcernForm, GoalForm, RegisterPatientForm
from referral_hub.screening.instruments import available_instruments, instrument_for
from referral_hub.security.principal import Principal, current_principal
from referral_hub.web.access import roles_required
from referral_hub.web.patients import PatientSummary

bp = Blueprint("screening", __name__, template_folder="templates", url_prefix="/screening")

#: Who may screen: clinic staff of the patient's clinic (the compartment check does the "of the clinic" part).
SCREENING_ROLES = ("clinic_staff",)
MAX_SCREENINGS_LISTED = 50


# ---- plumbing --------------------------------------------------------------------------------------------------------
def _bases() -> tuple[str, ...]:
    return (current_app.config["FHIR_BASE_URL"],)


def _principal() -> Principal:
    principal = current_principal()
    if principal is None:  # roles_required guarantees one
        abort(403)
    return principal


def _access() -> Access:
    return Access(db.session, _principal(), _bases())


def _store() -> ResourceStore:
    return ResourceStore(db.session, _bases())


def _audit(
    subtype: str, resource_type: str, resource_id: str | None, patient_id: str, query: str | None = None
) -> None:
    """One audit row for a read (``read``) or a listing (``search-type``) of patient data on these pages."""
    record(
        db.session,
        event_type="ui",
        subtype=subtype,
        action="R" if subtype == "read" else "E",
        resource_type=resource_type,
        resource_id=resource_id,
        patient_ref=f"Patient/{patient_id}",
        query=query,
    )


def _visible_row(access: Access, resource_type: str, resource_id: str) -> FhirResource | None:
    query = select(FhirResource).where(
        FhirResource.resource_type == resource_type, FhirResource.resource_id == resource_id
    )
    scope = access.search_scope()
    if scope is not None:
        query = scope(query)
    return db.session.execute(query).scalar_one_or_none()


def _patient_or_404(access: Access, patient_id: str) -> dict[str, Any]:
    """The Patient's body when the clinic may see it; 404 otherwise (unknown and not-yours look the same)."""
    access.require("Patient", "read", patient_id)
    row = _visible_row(access, "Patient", patient_id)
    if row is None:
        abort(404)
    return dict(row.body)


def _patient_language(patient: dict[str, Any]) -> str:
    """The patient's preferred language as a BCP-47 base code (``en`` when none is recorded)."""
    communications = patient.get("communication") or []
    chosen = next((c for c in communications if c.get("preferred")), communications[0] if communications else None)
    if not chosen:
        return "en"
    concept = chosen.get("language") or {}
    for coding in concept.get("coding") or []:
        if coding.get("code"):
            return str(coding["code"]).split("-")[0].lower()
    text = str(concept.get("text") or "").strip().lower()
    by_name = {english.lower(): code for code, english, _label in PATIENT_LANGUAGES} | {"español": "es"}
    return by_name.get(text, "en")


def _language_name(code: str) -> str:
    return next((str(label) for c, _english, label in PATIENT_LANGUAGES if c == code), code)


def _instrument_by_key(key: str | None) -> Instrument | None:
    if not key:
        return None
    return next((i for i in available_instruments(db.session) if i.key == key), None)


def _response_for(access: Access, patient_id: str, response_id: str | None) -> StoredResource | None:
    """A QuestionnaireResponse of this patient that the clinic may see, else None."""
    if not response_id or len(response_id) > 64:
        return None
    access.require("QuestionnaireResponse", "read", response_id)
    row = _visible_row(access, "QuestionnaireResponse", response_id)
    if row is None or (row.body.get("subject") or {}).get("reference") != f"Patient/{patient_id}":
        return None
    return StoredResource(row.pk, row.resource_type, row.resource_id, row.version_id, row.last_updated, row.body)


def _screenings(access: Access, patient_id: str) -> list[dict[str, Any]]:
    access.require("QuestionnaireResponse", "search")
    search = parse_search(
        "QuestionnaireResponse",
        [("subject", f"Patient/{patient_id}"), ("_sort", "-_lastUpdated"), ("_count", str(MAX_SCREENINGS_LISTED))],
        _bases(),
    )
    result = execute_search(db.session, search, access.search_scope())
    return [dict(row.body) for row in result.matches]


# ---- register or find a patient ------------------------------------------------------------------------------------
def _possible_duplicates(access: Access, form: RegisterPatientForm) -> list[PatientSummary]:
    """Patients of this clinic with the same first and last name and birth date (names match case-insensitively)."""
    search = parse_search(
        "Patient",
        [
            ("family", form.family.data.strip()),
            ("birthdate", form.birth_date.data.isoformat()),
            ("_count", "20"),
        ],
        _bases(),
    )
    found = []
    given = form.given.data.strip().casefold()
    family = form.family.data.strip().casefold()
    for row in execute_search(db.session, search, access.search_scope()).matches:
        names = row.body.get("name") or []
        if any(
            str(n.get("family", "")).casefold() == family and given in [str(g).casefold() for g in n.get("given", [])]
            for n in names
        ):
            found.append(PatientSummary.from_body(row.body))
    return found


@bp.route("/patients/new", methods=["GET", "POST"])
@roles_required(*SCREENING_ROLES)
def register() -> ResponseReturnValue:
    """Register a patient; a patient of the clinic with the same name and birth date is shown first."""
    access = _access()
    form = RegisterPatientForm()
    duplicates: list[PatientSummary] = []
    if form.validate_on_submit():
        access.require("Patient", "search")
        duplicates = _possible_duplicates(access, form)
        for duplicate in duplicates:
            _audit("search-type", "Patient", duplicate.id, duplicate.id, query="family,birthdate")
        if duplicates and not form.confirm_new.data:
            db.session.commit()  # the audit rows of the duplicate search
            return render_template("screening/register.html", form=form, duplicates=duplicates)
        body = form.patient_body(_principal().organization_ref)
        try:
            access.require("Patient", "create")
            access.check_create(body)
            stored = _store().create(body).resource
        except FhirError as exc:
            db.session.rollback()
            return render_template("screening/register.html", form=form, duplicates=[], store_errors=_messages(exc))
        db.session.commit()
        flash(_("Patient registered."), "success")
        return redirect(url_for("screening.patient", patient_id=stored.resource_id))
    return render_template("screening/register.html", form=form, duplicates=duplicates)


def _messages(exc: FhirError) -> list[str]:
    return [issue.diagnostics for issue in exc.issues] or [str(exc)]


# ---- the patient's screenings --------------------------------------------------------------------------------------
def _screening_rows(screenings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_canonical = {i.canonical: i for i in available_instruments(db.session)}
    rows = []
    for qr in screenings:
        canonical = str(qr.get("questionnaire", ""))
        instrument = by_canonical.get(canonical) or instrument_for(db.session, canonical)
        rows.append(
            {
                "id": qr.get("id"),
                "title": renderer.questionnaire_title(instrument.questionnaire, str(get_locale()))
                if instrument
                else canonical,
                "instrument": instrument.key if instrument else None,
                "status": qr.get("status"),
                "authored": qr.get("authored"),
            }
        )
    return rows


def _instrument_choices() -> list[tuple[str, str]]:
    locale = str(get_locale())
    return [(i.key, renderer.questionnaire_title(i.questionnaire, locale)) for i in available_instruments(db.session)]


@bp.get("/patients/<patient_id>")
@roles_required(*SCREENING_ROLES)
def patient(patient_id: str) -> ResponseReturnValue:
    """The patient, their screenings (continue the unfinished ones, open the findings of the others), start one."""
    access = _access()
    body = _patient_or_404(access, patient_id)
    _audit("read", "Patient", patient_id, patient_id)
    screenings = _screenings(access, patient_id)
    _audit("search-type", "QuestionnaireResponse", None, patient_id, query="subject")
    db.session.commit()
    return render_template(
        "screening/patient.html",
        patient=PatientSummary.from_body(body),
        language=_language_name(_patient_language(body)),
        screenings=_screening_rows(screenings),
        instruments=_instrument_choices(),
    )


# ---- the questionnaire ---------------------------------------------------------------------------------------------
def _render_questionnaire(
    patient_body: dict[str, Any],
    instrument: Instrument,
    response: StoredResource | None,
    parsed: renderer.ParsedForm | None = None,
    values: dict[str, list[str]] | None = None,
    others: dict[str, str] | None = None,
) -> str:
    language = _patient_language(patient_body)
    shown_language = (
        language if language in instrument.languages() else str(instrument.questionnaire.get("language", "en"))
    )
    items = renderer.build_items(
        instrument.questionnaire,
        shown_language,
        values=parsed.values if parsed else values,
        others=parsed.others if parsed else others,
        errors=parsed.errors if parsed else None,
    )
    return render_template(
        "screening/questionnaire.html",
        patient=PatientSummary.from_body(patient_body),
        instrument=instrument,
        title=renderer.questionnaire_title(instrument.questionnaire, shown_language),
        items=items,
        response=response,
        form_errors=parsed.form_errors if parsed else [],
        item_errors=sum(len(v) for v in parsed.errors.values()) if parsed else 0,
        shown_language=shown_language,
        patient_language=language,
        patient_language_name=_language_name(language),
        fell_back=shown_language != language,
    )


@bp.route("/patients/<patient_id>/questionnaire", methods=["GET", "POST"])
@roles_required(*SCREENING_ROLES)
def questionnaire(patient_id: str) -> ResponseReturnValue:
    """GET: a new screening (``?instrument=<key>``) or a saved one (``?response=<id>``); without either, the
    instrument chooser. POST ``action=save`` keeps the answers as an ``in-progress`` response; ``action=submit``
    stores it ``completed`` (the store's hook scores and extracts it) and opens the findings."""
    access = _access()
    patient_body = _patient_or_404(access, patient_id)
    source = request.form if request.method == "POST" else request.args
    response = _response_for(access, patient_id, source.get("response"))
    if source.get("response") and response is None:
        abort(404)
    if response is not None:
        _audit("read", "QuestionnaireResponse", response.resource_id, patient_id)
        if response.body.get("status") != "in-progress":
            db.session.commit()
            return redirect(url_for("screening.findings", patient_id=patient_id, response=response.resource_id))
        instrument = instrument_for(db.session, response.body.get("questionnaire"))
    else:
        instrument = _instrument_by_key(source.get("instrument"))
    if instrument is None:
        db.session.commit()
        error = _("Choose a questionnaire.") if request.method == "POST" or source.get("instrument") else None
        return render_template(
            "screening/choose.html",
            patient=PatientSummary.from_body(patient_body),
            instruments=_instrument_choices(),
            error=error,
        )
    if request.method == "GET":
        values, others = renderer.values_from_response(response.body) if response else ({}, {})
        renderer.normalise_open_choice(instrument.questionnaire, values, others)
        db.session.commit()
        return _render_questionnaire(patient_body, instrument, response, values=values, others=others)
    return _save_questionnaire(access, patient_id, patient_body, instrument, response)


def _save_questionnaire(
    access: Access,
    patient_id: str,
    patient_body: dict[str, Any],
    instrument: Instrument,
    response: StoredResource | None,
) -> ResponseReturnValue:
    complete = request.form.get("action") == "submit"
    parsed = renderer.parse_form(instrument.questionnaire, request.form, complete=complete)
    if not parsed.ok:
        db.session.commit()  # only the audit row of the read
        return _render_questionnaire(patient_body, instrument, response, parsed), 200
    principal = _principal()
    language = _patient_language(patient_body)
    body: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": instrument.canonical,
        "status": "completed" if complete else "in-progress",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": format_instant(utcnow()),
        # The patient gave the answers (the Observations' performer); the clinic recorded them.
        "source": {"reference": f"Patient/{patient_id}"},
        "language": language,
        "item": parsed.items,
    }
    if principal.organization_ref:
        body["author"] = {"reference": principal.organization_ref}
    if not body["item"]:
        del body["item"]
    store = _store()
    try:
        if response is None:
            access.require("QuestionnaireResponse", "create")
            access.check_create(body)
            stored = store.create(body).resource
        else:
            body["id"] = response.resource_id
            access.require("QuestionnaireResponse", "update", response.resource_id)
            access.check_update(Target(response.pk, "QuestionnaireResponse", response.resource_id, response.body), body)
            stored = store.update(
                "QuestionnaireResponse", response.resource_id, body, if_match=response.version_id
            ).resource
    except FhirError as exc:
        db.session.rollback()
        _place_store_errors(parsed, body.get("item", []), exc)
        return _render_questionnaire(patient_body, instrument, response, parsed), 200
    db.session.commit()
    if complete:
        flash(_("Screening submitted."), "success")
        return redirect(url_for("screening.findings", patient_id=patient_id, response=stored.resource_id))
    flash(_("Answers saved. You can continue this screening later."), "success")
    return redirect(url_for("screening.questionnaire", patient_id=patient_id, response=stored.resource_id))


def _place_store_errors(parsed: renderer.ParsedForm, items: list[dict[str, Any]], exc: FhirError) -> None:
    """Put the store's OperationOutcome issues next to the questions they name (the rest above the form)."""
    by_link = renderer.issue_link_ids(items, [issue.expression for issue in exc.issues])
    for link, indexes in by_link.items():
        messages = [exc.issues[i].diagnostics for i in indexes]
        if link is None:
            if exc.status in (409, 412):
                parsed.form_errors.append(
                    _(
                        "Someone else changed this screening at the same time. "
                        "Your answers are still here: check them and save again."
                    )
                )
            else:
                parsed.form_errors.extend(messages)
        else:
            parsed.errors.setdefault(link, []).extend(messages)
    if not parsed.errors and not parsed.form_errors:
        parsed.form_errors.append(_("The screening could not be saved."))


# ---- findings, concerns and goals ----------------------------------------------------------------------------------
def _latest_completed(access: Access, patient_id: str) -> StoredResource | None:
    for qr in _screenings(access, patient_id):
        if qr.get("status") in ("completed", "amended"):
            return _response_for(access, patient_id, str(qr.get("id")))
    return None


def _item_answer_labels(instrument: Instrument, qr: dict[str, Any], link_id: str, locale: str) -> list[str]:
    definition = next((i for i in _walk(instrument.questionnaire.get("item", [])) if i.get("linkId") == link_id), {})
    options = {
        renderer.option_token("valueCoding", o["valueCoding"]): renderer.translated(
            o["valueCoding"].get("display"), o["valueCoding"].get("_display"), locale
        )
        for o in definition.get("answerOption", []) or []
        if "valueCoding" in o
    }
    labels = []
    for item in _walk(qr.get("item", [])):
        if item.get("linkId") != link_id:
            continue
        for answer in item.get("answer", []) or []:
            if "valueCoding" in answer:
                token = renderer.option_token("valueCoding", answer["valueCoding"])
                labels.append(options.get(token) or str(answer["valueCoding"].get("display", "")))
            else:
                labels.extend(str(v) for k, v in answer.items() if k.startswith("value"))
    return labels


def _result_label(instrument: Instrument, rule: Any, code: str | None, locale: str) -> str | None:
    """A coded score result (e.g. LA19952-3) as its answer text on the calculated item, in ``locale``."""
    if code is None or rule is None or not rule.link_id:
        return code
    definition = next(
        (i for i in _walk(instrument.questionnaire.get("item", [])) if i.get("linkId") == rule.link_id), {}
    )
    for option in definition.get("answerOption", []) or []:
        coding = option.get("valueCoding") or {}
        if coding.get("code") == code:
            return renderer.translated(coding.get("display") or code, coding.get("_display"), locale)
    return code


def _walk(items: Any) -> Any:
    for item in items or []:
        yield item
        yield from _walk(item.get("item", []))
        for answer in item.get("answer", []) or []:
            yield from _walk(answer.get("item", []))


def _findings_context(
    access: Access, patient_id: str, response: StoredResource, instrument: Instrument
) -> dict[str, Any]:
    locale = str(get_locale())
    qr = response.body
    findings: Findings = score(qr, instrument)
    texts = {
        str(i.get("linkId")): renderer.item_text(i, locale) for i in _walk(instrument.questionnaire.get("item", []))
    }
    domains = []
    for key in findings.positive_domains:
        finding = findings.domains[key]
        evidence = []
        for item in finding.evidence:
            if item.source.startswith("score:"):
                result = findings.scores.get(item.source.removeprefix("score:"))
                rule = instrument.rules.scores.get(item.source.removeprefix("score:"))
                label = texts.get(rule.link_id or "", "") if rule else ""
                value = (
                    ""
                    if result is None
                    else str(
                        result.value
                        if result.value is not None
                        else _result_label(instrument, rule, result.result, locale)
                    )
                )
                evidence.append({"question": label or (rule.display if rule else item.source), "answers": [value]})
            else:
                evidence.append(
                    {
                        "question": texts.get(item.source, item.source),
                        "answers": _item_answer_labels(instrument, qr, item.source, locale),
                    }
                )
        domains.append(
            {
                "key": key,
                "label": concerns.domain_label(key, finding.text or finding.category_display),
                "evidence": evidence,
                "verified": finding.verified,
            }
        )
    scores = []
    for key, result in findings.scores.items():
        rule = instrument.rules.scores.get(key)
        label = texts.get(rule.link_id or "", "") if rule else ""
        scores.append(
            {
                "label": label or (rule.display if rule and rule.display else key),
                "value": result.value,
                "result": _result_label(instrument, rule, result.result, locale),
                "positive": result.positive,
                "complete": result.complete,
            }
        )
    declined = [texts.get(link, link) for link in findings.declined]
    # The Conditions the extraction proposed (deterministic ids), as they stand now in the store.
    condition_ids = [r["id"] for r in extract(qr, instrument).resources if r["resourceType"] == "Condition"]
    conditions = []
    for condition_id in condition_ids:
        row = _visible_row(access, "Condition", condition_id)
        if row is None:
            continue
        _audit("read", "Condition", condition_id, patient_id)
        body = dict(row.body)
        conditions.append(
            {
                "id": condition_id,
                "label": ", ".join(
                    concerns.domain_label(str(c.get("code")), str(c.get("display") or c.get("code")))
                    for c in concerns.sdoh_categories(body)
                ),
                "code": (body.get("code") or {}).get("text")
                or next((c.get("display") for c in (body.get("code") or {}).get("coding", [])), ""),
                "status": concerns.verification(body),
                "status_label": concerns.STATUS_LABELS.get(concerns.verification(body), concerns.verification(body)),
                "goal_options": concerns.goal_options(body),
                "goals": [],
            }
        )
    if conditions:
        access.require("Goal", "search")
        search = parse_search("Goal", [("patient", f"Patient/{patient_id}"), ("_count", "100")], _bases())
        goals = [dict(row.body) for row in execute_search(db.session, search, access.search_scope()).matches]
        _audit("search-type", "Goal", None, patient_id, query="patient")
        by_id = {c["id"]: c for c in conditions}
        for goal in goals:
            for address in goal.get("addresses", []) or []:
                target = str(address.get("reference", "")).removeprefix("Condition/")
                if target in by_id and goal.get("lifecycleStatus") != "entered-in-error":
                    due = next((t.get("dueDate") for t in goal.get("target", []) or [] if t.get("dueDate")), None)
                    by_id[target]["goals"].append({"label": concerns.goal_label(goal), "due": due})
    return {
        "response": response,
        "instrument": instrument,
        "title": renderer.questionnaire_title(instrument.questionnaire, locale),
        "domains": domains,
        "scores": scores,
        "declined": declined,
        "incomplete_scores": findings.incomplete_scores,
        "conditions": conditions,
    }


def _render_findings(
    access: Access,
    patient_id: str,
    patient_body: dict[str, Any],
    response_id: str | None,
    errors: dict[str, dict[str, list[str]]] | None = None,
    typed: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    response = _response_for(access, patient_id, response_id) if response_id else _latest_completed(access, patient_id)
    if response_id and response is None:
        abort(404)
    context: dict[str, Any] = {"response": None}
    if response is not None:
        _audit("read", "QuestionnaireResponse", response.resource_id, patient_id)
        if response.body.get("status") == "in-progress":
            db.session.commit()
            return redirect(url_for("screening.questionnaire", patient_id=patient_id, response=response.resource_id))
        instrument = instrument_for(db.session, response.body.get("questionnaire"))
        if instrument is None:
            abort(404)
        try:
            context = _findings_context(access, patient_id, response, instrument)
        except ResponseError:
            context = {"response": response, "unscorable": True}
    else:
        _audit("search-type", "QuestionnaireResponse", None, patient_id, query="subject")
    db.session.commit()
    return render_template(
        "screening/findings.html",
        patient=PatientSummary.from_body(patient_body),
        errors=errors or {},
        typed=typed or {},
        today=date.today().isoformat(),
        **context,
    )


@bp.get("/patients/<patient_id>/findings")
@roles_required(*SCREENING_ROLES)
def findings(patient_id: str) -> ResponseReturnValue:
    """What a completed screening found (``?response=<id>``; the latest completed one without it)."""
    access = _access()
    patient_body = _patient_or_404(access, patient_id)
    return _render_findings(access, patient_id, patient_body, request.args.get("response"))


def _condition_of_patient(access: Access, patient_id: str, condition_id: str) -> StoredResource | None:
    if not condition_id or len(condition_id) > 64:
        return None
    row = _visible_row(access, "Condition", condition_id)
    if row is None or (row.body.get("subject") or {}).get("reference") != f"Patient/{patient_id}":
        return None
    return StoredResource(row.pk, row.resource_type, row.resource_id, row.version_id, row.last_updated, row.body)


def _errors_of(form: Any) -> dict[str, list[str]]:
    return {name: [str(e) for e in errs] for name, errs in form.errors.items()}


@bp.post("/patients/<patient_id>/concerns")
@roles_required(*SCREENING_ROLES)
def concern(patient_id: str) -> ResponseReturnValue:
    """Confirm (verificationStatus confirmed, problem-list-item) or dismiss (refuted) one proposed concern."""
    access = _access()
    patient_body = _patient_or_404(access, patient_id)
    response_id = request.form.get("response") or None
    form = ConcernForm()
    condition_id = str(form.condition_id.data or "")
    if not form.validate():
        key = condition_id or "_form"
        return _render_findings(access, patient_id, patient_body, response_id, {key: _errors_of(form)}, request.form)
    current = _condition_of_patient(access, patient_id, condition_id)
    if current is None:
        abort(404)
    _audit("read", "Condition", condition_id, patient_id)
    body = (
        concerns.confirmed(current.body)
        if form.decision.data == "confirm"
        else concerns.refuted(current.body, form.reason.data or "")
    )
    try:
        access.require("Condition", "update", condition_id)
        access.check_update(Target(current.pk, "Condition", condition_id, current.body), body)
        _store().update("Condition", condition_id, body, if_match=current.version_id)
    except FhirError as exc:
        db.session.rollback()
        errors = {condition_id: {"decision": _messages(exc)}}
        return _render_findings(access, patient_id, patient_body, response_id, errors, request.form)
    db.session.commit()
    flash(_("Decision saved.") if form.decision.data == "confirm" else _("Concern dismissed."), "success")
    return redirect(url_for("screening.findings", patient_id=patient_id, response=response_id) + f"#c-{condition_id}")


@bp.post("/patients/<patient_id>/goals")
@roles_required(*SCREENING_ROLES)
def goal(patient_id: str) -> ResponseReturnValue:
    """Record an SDOHCC Goal that addresses one of the patient's concerns."""
    access = _access()
    patient_body = _patient_or_404(access, patient_id)
    response_id = request.form.get("response") or None
    form = GoalForm()
    condition_id = str(form.condition_id.data or "")
    current = _condition_of_patient(access, patient_id, condition_id) if condition_id else None
    options = concerns.goal_options(current.body) if current else []
    form.goal.choices = [SelectChoice(o.key, str(o.label)) for o in options]
    if not form.validate() or current is None:
        errors = _errors_of(form)
        if condition_id and current is None:
            abort(404)
        return _render_findings(
            access, patient_id, patient_body, response_id, {condition_id or "_form": errors}, request.form
        )
    _audit("read", "Condition", condition_id, patient_id)
    option = next(o for o in options if o.key == form.goal.data)
    body = concerns.goal_body(current.body, option, date.today(), form.due_date.data)
    try:
        access.require("Goal", "create")
        access.check_create(body)
        _store().create(body)
    except FhirError as exc:
        db.session.rollback()
        errors = {condition_id: {"goal": _messages(exc)}}
        return _render_findings(access, patient_id, patient_body, response_id, errors, request.form)
    db.session.commit()
    flash(_("Goal recorded."), "success")
    return redirect(url_for("screening.findings", patient_id=patient_id, response=response_id) + f"#c-{condition_id}")


__all__ = ["bp"]
