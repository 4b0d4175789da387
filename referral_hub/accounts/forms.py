"""Flask-WTF forms of the account pages (each carries the CSRF token)."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from referral_hub.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from referral_hub.i18n import LANGUAGES, _l


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    submit = SubmitField(_l("Sign in"))


class CodeForm(FlaskForm):
    code = StringField(
        _l("6-digit code from your authenticator app"),
        validators=[DataRequired(), Length(min=6, max=8)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField(_l("Verify"))


def _new_password_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )


class NewPasswordForm(FlaskForm):
    password = _new_password_field(_l("New password"))
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Save password"))


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    submit = SubmitField(_l("Email me a link"))


def _timezone_choices() -> list[SelectChoice]:
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc"))
    return [SelectChoice("", "UTC"), *(SelectChoice(z) for z in zones)]


def _language_choices() -> list[SelectChoice]:
    return [
        SelectChoice("", _l("Same as my browser")),
        *(SelectChoice(code, name, render_kw={"lang": code}) for code, name in LANGUAGES.items()),
    ]


def _valid_timezone(_form: FlaskForm, field: StringField) -> None:
    if field.data and field.data not in available_timezones():
        raise ValidationError(_l("Unknown time zone."))


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    locale = SelectField(_l("Language"), choices=_language_choices)
    timezone = SelectField(_l("Time zone"), choices=_timezone_choices, validators=[Optional(), _valid_timezone])
    submit = SubmitField(_l("Save"))


class ConfirmForm(FlaskForm):
    """A bare form for POST-only buttons (logout, removing the second factor): just the CSRF token."""

    submit = SubmitField(_l("Confirm"))
