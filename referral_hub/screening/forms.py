"""Forms of the staff screening pages: register a patient (→ a US Core Patient), decide on a concern, record a goal.

The questionnaire itself is not a WTForms form: its fields come from the Questionnaire (``renderer.py``); the
CSRF token is added by the template and checked for every POST by the accounts setup.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask_babel import LazyString
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from referral_hub.i18n import _l

US_CORE_PATIENT = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
BCP47 = "urn:ietf:bcp:47"
#: The hub's own patient identifier (US Core Patient needs one identifier with system and value).
HUB_PATIENT_SYSTEM = "urn:referral-hub:patient"

#: Preferred languages offered at registration: the two the instruments are translated into first, then the most
#: common other languages of US clinic patients (the screening falls back to English for those).
PATIENT_LANGUAGES: tuple[tuple[str, str, LazyString], ...] = (
    ("en", "English", _l("English")),
    ("es", "Spanish", _l("Spanish")),
    ("zh", "Chinese", _l("Chinese")),
    ("vi", "Vietnamese", _l("Vietnamese")),
    ("ht", "Haitian Creole", _l("Haitian Creole")),
    ("ru", "Russian", _l("Russian")),
    ("ar", "Arabic", _l("Arabic")),
    ("ko", "Korean", _l("Korean")),
)
GENDERS: tuple[tuple[str, LazyString], ...] = (
    ("female", _l("Female")),
    ("male", _l("Male")),
    ("other", _l("Other")),
    ("unknown", _l("Unknown or not given")),
)
US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA PR RI SC SD TN TX UT VT VA WA WV WI WY"
).split()


def _not_in_future(_form: FlaskForm, field: DateField) -> None:
    if field.data and field.data > date.today():
        raise ValidationError(_l("The date of birth cannot be in the future."))
    if field.data and field.data.year < 1900:
        raise ValidationError(_l("Check the year of birth."))


class RegisterPatientForm(FlaskForm):
    """Who the patient is and how to reach them (issue 4 scope 5)."""

    given = StringField(
        _l("First name"), validators=[DataRequired(), Length(max=100)], render_kw={"autocomplete": "off"}
    )
    family = StringField(
        _l("Last name"), validators=[DataRequired(), Length(max=100)], render_kw={"autocomplete": "off"}
    )
    birth_date = DateField(_l("Date of birth"), validators=[DataRequired(), _not_in_future])
    gender = SelectField(
        _l("Sex (administrative)"), choices=[SelectChoice(v, label) for v, label in GENDERS], default="unknown"
    )
    language = SelectField(
        _l("Preferred language"),
        choices=[SelectChoice(code, label) for code, _en, label in PATIENT_LANGUAGES],
        default="en",
    )
    phone = TelField(
        _l("Phone"),
        validators=[Optional(), Length(max=30), Regexp(r"^[0-9+()\-. ]{7,30}$", message=_l("Enter a phone number."))],
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )
    email = EmailField(
        _l("Email"),
        validators=[
            Optional(),
            Length(max=254),
            # A shape check only (no email_validator dependency): the address is for contacting the patient.
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an email address.")),
        ],
    )
    line = StringField(_l("Street address"), validators=[Optional(), Length(max=200)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    state = SelectField(
        _l("State"), choices=[SelectChoice("", "—"), *[SelectChoice(s, s) for s in US_STATES]], default=""
    )
    postal_code = StringField(
        _l("ZIP code"),
        validators=[Optional(), Regexp(r"^\d{5}(-\d{4})?$", message=_l("Enter a 5-digit ZIP code."))],
        render_kw={"inputmode": "numeric"},
    )
    mrn = StringField(_l("Medical record number (optional)"), validators=[Optional(), Length(max=64)])
    confirm_new = BooleanField(_l("This is a different person: register a new patient"))
    submit = SubmitField(_l("Register patient"))

    def patient_body(self, organization_ref: str | None) -> dict[str, Any]:
        """A US Core Patient from the form (the store assigns the id; the policy grants it to the clinic)."""
        code, english, _label = next(x for x in PATIENT_LANGUAGES if x[0] == self.language.data)
        identifiers: list[dict[str, Any]] = [{"system": HUB_PATIENT_SYSTEM, "value": str(uuid.uuid4())}]
        if self.mrn.data and self.mrn.data.strip():
            identifiers.insert(
                0,
                {
                    "use": "usual",
                    "type": {
                        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}],
                        "text": "MRN",
                    },
                    "system": f"urn:referral-hub:mrn:{(organization_ref or 'clinic').replace('/', ':')}",
                    "value": self.mrn.data.strip(),
                },
            )
        body: dict[str, Any] = {
            "resourceType": "Patient",
            "meta": {"profile": [US_CORE_PATIENT]},
            "identifier": identifiers,
            "active": True,
            "name": [{"use": "official", "family": self.family.data.strip(), "given": [self.given.data.strip()]}],
            "gender": self.gender.data or "unknown",
            "birthDate": self.birth_date.data.isoformat(),
            "communication": [
                {
                    "language": {"coding": [{"system": BCP47, "code": code, "display": english}], "text": english},
                    "preferred": True,
                }
            ],
        }
        telecom = []
        if self.phone.data:
            telecom.append({"system": "phone", "value": self.phone.data.strip(), "use": "mobile"})
        if self.email.data:
            telecom.append({"system": "email", "value": self.email.data.strip()})
        if telecom:
            body["telecom"] = telecom
        address = {
            k: v
            for k, v in (
                ("line", [self.line.data.strip()] if self.line.data and self.line.data.strip() else None),
                ("city", (self.city.data or "").strip() or None),
                ("state", self.state.data or None),
                ("postalCode", (self.postal_code.data or "").strip() or None),
            )
            if v
        }
        if address:
            body["address"] = [{"use": "home", **address, "country": "US"}]
        if organization_ref:
            body["managingOrganization"] = {"reference": organization_ref}
        return body


class ConcernForm(FlaskForm):
    """Confirm or dismiss one proposed health concern."""

    condition_id = HiddenField(validators=[DataRequired(), Length(max=64)])
    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("confirm", _l("Confirm: the patient agrees this is a need")),
            SelectChoice("dismiss", _l("Dismiss: not a need after talking with the patient")),
        ],
        validators=[DataRequired(message=_l("Choose confirm or dismiss."))],
    )
    reason = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Save decision"))


class GoalForm(FlaskForm):
    """A goal for a confirmed (or proposed) concern; the choices are filled per Condition."""

    condition_id = HiddenField(validators=[DataRequired(), Length(max=64)])
    goal = SelectField(_l("Goal"), choices=[], validate_choice=True)
    due_date = DateField(_l("Target date (optional)"), validators=[Optional()])
    submit = SubmitField(_l("Record goal"))

    def validate_due_date(self, field: DateField) -> None:
        if field.data and field.data < date.today():
            raise ValidationError(_l("The target date cannot be in the past."))


__all__ = [
    "GENDERS",
    "HUB_PATIENT_SYSTEM",
    "PATIENT_LANGUAGES",
    "ConcernForm",
    "GoalForm",
    "RegisterPatientForm",
]
