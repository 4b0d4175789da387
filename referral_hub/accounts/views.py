"""Account pages: sign in (password, then TOTP or TOTP enrolment), sign out, profile, password change and reset.

Sign-in is a small state machine kept in the signed session under ``pending_login`` until every step passed:
password → second factor (verify, or enrol when required: ``admin`` must have one) → the user is logged in with a
brand-new session. Nothing else is reachable while a step is pending, because the user is not logged in yet.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from referral_hub.accounts import totp
from referral_hub.accounts.forms import (
    ChangePasswordForm,
    CodeForm,
    ConfirmForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    ProfileForm,
)
from referral_hub.accounts.models import User
from referral_hub.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from referral_hub.accounts.reset import user_for_token
from referral_hub.accounts.services import active_membership, normalize_email, record_login, set_password
from referral_hub.accounts.setup import limiter
from referral_hub.extensions import db
from referral_hub.i18n import _
from referral_hub.web.access import authenticated, public
from referral_hub.web.audit_seam import _record_login, claimed_account_id

bp = Blueprint("accounts", __name__, template_folder="templates")

PENDING_KEY = "pending_login"
PENDING_MAX_AGE_S = 300
#: Roles that may not sign in without a second factor (issue 3 scope 2).
TOTP_REQUIRED_ROLES = frozenset({"admin"})


# ---- rate-limit keys -----------------------------------------------------------------------------------------------
def _account_key() -> str:
    """Per-account bucket: a hash of the typed email, so the limiter store never holds an address."""
    email = normalize_email(request.form.get("email", ""))
    return "acct:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def _pending_key() -> str:
    pending = session.get(PENDING_KEY) or {}
    return f"pending:{pending.get('uid', request.remote_addr)}"


def _failed(response: Response) -> bool:
    """Only failures count against a limit: a successful step answers with a redirect."""
    return response.status_code != 302


def _limit(name: str) -> Any:
    return lambda: current_app.config[name]


# ---- helpers ---------------------------------------------------------------------------------------------------
def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: ``/x`` yes; ``//evil``, ``/\\evil`` and absolute URLs no (open-redirect guard)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


def _me() -> User:
    """The signed-in user as the real object (``current_user`` is a proxy; ``login_user`` must not get the proxy)."""
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _set_pending(user: User, step: str, next_url: str | None) -> None:
    session[PENDING_KEY] = {
        "uid": user.id,
        "epoch": user.session_epoch or 0,
        "step": step,
        "next": next_url,
        "at": int(time.time()),
    }


def _pending_user(step: str) -> User | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("step") != step:
        return None
    if int(time.time()) - int(pending.get("at", 0)) > PENDING_MAX_AGE_S:
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, pending.get("uid"))
    if user is None or not user.active or (user.session_epoch or 0) != pending.get("epoch"):
        return None
    return user


def _complete_login(user: User) -> Response:
    """Start a brand-new session for ``user`` (issue 3 scope 2: new session id at login)."""
    next_url = (session.get(PENDING_KEY) or {}).get("next")
    session.clear()
    session["nonce"] = secrets.token_urlsafe(16)
    login_user(user)
    session.permanent = True
    membership = active_membership(user)
    if membership is not None:
        session["org_id"] = membership.organization.id
    # The home page shows the *previous* sign-in, so an unexpected one stands out.
    session["previous_login_at"] = user.last_login_at.isoformat() if user.last_login_at else None
    record_login(user)
    _record_login("0", user_id=user.id, reason="ok")
    db.session.commit()
    if user.must_change_password:
        return redirect(url_for("accounts.change_password"))
    return redirect(_safe_next(next_url) or url_for("web.home"))


def _needs_second_factor(user: User) -> str | None:
    if user.totp_secret:
        return "totp"
    if user.roles & TOTP_REQUIRED_ROLES or current_app.config.get("TOTP_REQUIRED_FOR_ALL"):
        return "enrol"
    return None


# ---- sign in ---------------------------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_limit("LOGIN_LIMIT_PER_IP"), methods=["POST"], deduct_when=_failed, scope="login-ip")
@limiter.limit(
    _limit("LOGIN_LIMIT_PER_ACCOUNT"), key_func=_account_key, methods=["POST"], deduct_when=_failed, scope="login-acct"
)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.execute(select(User).where(User.email == normalize_email(form.email.data or ""))).scalar()
        password = form.password.data or ""
        ok = verify_password(user.password_hash if user else None, password)
        if user is None or not ok or not user.active:
            reason = "unknown_account" if user is None else ("inactive" if ok else "bad_password")
            claimed = claimed_account_id(form.email.data or "") if user is None else None
            _record_login("4", user_id=user.id if user else None, reason=reason, claimed=claimed)
            db.session.commit()
            flash(_("The email or password is not right."), "error")
            return render_template("accounts/login.html", form=form), 200
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        next_url = _safe_next(request.args.get("next"))
        step = _needs_second_factor(user)
        if step is None:
            session[PENDING_KEY] = {"next": next_url}
            return _complete_login(user)
        session.clear()
        _set_pending(user, step, next_url)
        db.session.commit()
        return redirect(url_for("accounts.login_verify" if step == "totp" else "accounts.login_enrol"))
    return render_template("accounts/login.html", form=form)


@bp.route("/login/verify", methods=["GET", "POST"])
@public
@limiter.limit("5 per minute;20 per hour", key_func=_pending_key, methods=["POST"], deduct_when=_failed)
def login_verify() -> ResponseReturnValue:
    user = _pending_user("totp")
    if user is None:
        return redirect(url_for("accounts.login"))
    form = CodeForm()
    if form.validate_on_submit():
        step = totp.matching_step(user.totp_secret or "", form.code.data or "", user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            return _complete_login(user)
        _record_login("4", user_id=user.id, reason="bad_totp", subtype="totp")
        db.session.commit()
        flash(_("That code is not right or was already used. Wait for a new one and try again."), "error")
    return render_template("accounts/login_verify.html", form=form)


@bp.route("/login/enrol", methods=["GET", "POST"])
@public
@limiter.limit("5 per minute;20 per hour", key_func=_pending_key, methods=["POST"], deduct_when=_failed)
def login_enrol() -> ResponseReturnValue:
    """An admin (or anyone when configured) without a second factor sets one up before the login completes."""
    user = _pending_user("enrol")
    if user is None:
        return redirect(url_for("accounts.login"))
    secret = session.setdefault("pending_totp_secret", totp.new_secret())
    form = CodeForm()
    if form.validate_on_submit():
        step = totp.matching_step(secret, form.code.data or "", None)
        if step is not None:
            user.totp_secret, user.totp_last_step = secret, step
            return _complete_login(user)
        _record_login("4", user_id=user.id, reason="bad_totp_enrolment", subtype="totp")
        db.session.commit()
        flash(_("That code is not right. Check the time on your phone and try again."), "error")
    return render_template(
        "accounts/totp_enrol.html",
        form=form,
        secret=secret,
        qr_url=url_for("accounts.login_enrol_qr"),
        action=url_for("accounts.login_enrol"),
        during_login=True,
    )


@bp.get("/login/enrol/qr.svg")
@public
def login_enrol_qr() -> ResponseReturnValue:
    user = _pending_user("enrol")
    if user is None:
        return redirect(url_for("accounts.login"))
    return _qr_response(session.setdefault("pending_totp_secret", totp.new_secret()), user)


def _qr_response(secret: str, user: User) -> Response:
    svg = totp.qr_svg(totp.provisioning_uri(secret, user.email))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@bp.post("/logout")
@public
def logout() -> ResponseReturnValue:
    """End this session and every other copy of it (``session_epoch``)."""
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        if user is not None:
            user.session_epoch = (user.session_epoch or 0) + 1
            _record_login("0", user_id=user.id, reason="ok", subtype="logout")
            db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("accounts.login"))


# ---- account ---------------------------------------------------------------------------------------------------
@bp.route("/account", methods=["GET", "POST"])
@authenticated
def account() -> ResponseReturnValue:
    user = _me()
    form = ProfileForm(obj=user) if request.method == "GET" else ProfileForm()
    if request.method == "GET":
        form.locale.data = user.locale or ""
        form.timezone.data = user.timezone or ""
    if form.validate_on_submit():
        user.display_name = (form.display_name.data or "").strip()
        user.locale = form.locale.data or None
        user.timezone = form.timezone.data or None
        db.session.commit()
        flash(_("Your settings are saved."), "success")
        return redirect(url_for("accounts.account"))
    membership = active_membership(user, session.get("org_id"))
    return render_template(
        "accounts/account.html",
        form=form,
        user=user,
        membership=membership,
        confirm_form=ConfirmForm(),
        totp_required=bool(user.roles & TOTP_REQUIRED_ROLES),
    )


@bp.route("/account/password", methods=["GET", "POST"])
@authenticated
def change_password() -> ResponseReturnValue:
    user = _me()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(user.password_hash, form.current.data or ""):
            flash(_("Your current password is not right."), "error")
        elif verify_password(user.password_hash, form.password.data or ""):
            flash(_("Choose a password different from the current one."), "error")
        else:
            set_password(user, form.password.data or "")
            login_user(user)  # the epoch changed: re-issue this session's id, other sessions end
            db.session.commit()
            flash(_("Your password is changed."), "success")
            return redirect(url_for("web.home"))
    return render_template("accounts/change_password.html", form=form, forced=user.must_change_password)


@bp.route("/account/totp", methods=["GET", "POST"])
@authenticated
def totp_enrol() -> ResponseReturnValue:
    user = _me()
    secret = session.setdefault("enrol_totp_secret", totp.new_secret())
    form = CodeForm()
    if form.validate_on_submit():
        step = totp.matching_step(secret, form.code.data or "", None)
        if step is not None:
            user.totp_secret, user.totp_last_step = secret, step
            session.pop("enrol_totp_secret", None)
            db.session.commit()
            flash(_("Two-step sign-in is on. You will be asked for a code each time you sign in."), "success")
            return redirect(url_for("accounts.account"))
        flash(_("That code is not right. Check the time on your phone and try again."), "error")
    return render_template(
        "accounts/totp_enrol.html",
        form=form,
        secret=secret,
        qr_url=url_for("accounts.totp_qr"),
        action=url_for("accounts.totp_enrol"),
        during_login=False,
    )


@bp.get("/account/totp/qr.svg")
@authenticated
def totp_qr() -> ResponseReturnValue:
    secret = session.setdefault("enrol_totp_secret", totp.new_secret())
    return _qr_response(secret, _me())


@bp.post("/account/totp/remove")
@authenticated
def totp_remove() -> ResponseReturnValue:
    user = _me()
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if user.roles & TOTP_REQUIRED_ROLES:
        abort(403)
    user.totp_secret = None
    user.totp_last_step = None
    db.session.commit()
    flash(_("Two-step sign-in is off."), "info")
    return redirect(url_for("accounts.account"))


# ---- password reset --------------------------------------------------------------------------------------------
@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit(_limit("PASSWORD_RESET_LIMIT_PER_IP"), methods=["POST"], scope="reset-ip")
def forgot_password() -> ResponseReturnValue:
    """Always the same answer, whether or not the address has an account (no account enumeration)."""
    from referral_hub.jobs import enqueue

    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = db.session.execute(select(User).where(User.email == normalize_email(form.email.data or ""))).scalar()
        if user is not None and user.active:
            enqueue("accounts.send_password_reset", user_id=user.id)
        db.session.commit()
        flash(_("If an account uses that address, we sent it a link to choose a new password."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str) -> ResponseReturnValue:
    user = user_for_token(db.session, token)
    if user is None:
        return render_template("accounts/reset_invalid.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        problem = password_problem(form.password.data or "")
        if problem is None:
            set_password(user, form.password.data or "")  # the hash changes: this link stops working
            _record_login("0", user_id=user.id, reason="ok", subtype="password-reset")
            db.session.commit()
            flash(_("Your password is changed. Sign in with it now."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)
