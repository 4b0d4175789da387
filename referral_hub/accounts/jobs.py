"""Account mail sent through the job outbox (after commit, retried; the job carries the user id only)."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy.orm import Session

from referral_hub.accounts.models import User
from referral_hub.accounts.reset import DEFAULT_MAX_AGE_S, make_token
from referral_hub.jobs import job
from referral_hub.notify.email import send_email


@job("accounts.send_password_reset", queue="notifications")
def send_password_reset(session: Session, user_id: int) -> None:
    """Email a reset link (the link only: no PHI, no account details) in the user's language.

    The token is made here, not in the request, so no secret ever sits in the outbox row or in Redis.
    """
    user = session.get(User, user_id)
    if user is None or not user.active:
        return
    link = f"{current_app.config['BASE_URL']}/password/reset/{make_token(user)}"
    minutes = int(current_app.config.get("PASSWORD_RESET_MAX_AGE_S", DEFAULT_MAX_AGE_S)) // 60
    with force_locale(user.locale or "en"):
        subject = gettext("Reset your Referral Hub password")
        text = gettext(
            "Someone asked to reset the password of your Referral Hub account.\n\n"
            "To choose a new password, open this link within %(minutes)s minutes:\n%(link)s\n\n"
            "If you did not ask for this, ignore this message; your password stays the same.",
            minutes=minutes,
            link=link,
        )
    send_email(user.email, subject, text)
