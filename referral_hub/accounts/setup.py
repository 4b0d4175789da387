"""Wires login (Flask-Login), CSRF (Flask-WTF) and login rate limiting (Flask-Limiter) into the app.

Cookie sessions are signed client-side (architecture: no state in process memory), so two extra rules make them
behave like server sessions: the login user id carries ``User.session_epoch`` (a logout or password change ends
every copy of the cookie), and a login starts from a cleared session with a fresh nonce (a cookie planted before
login is worth nothing after it).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response, current_app, redirect, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from referral_hub.accounts.models import User
from referral_hub.extensions import db
from referral_hub.i18n import _l

#: Paths that authenticate with bearer tokens, not cookies: no CSRF check, and the login session is ignored there.
API_PREFIXES = ("/fhir", "/oauth", "/.well-known", "/hsds")

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)

#: Endpoints a signed-in user who must change their password may still reach.
_PASSWORD_CHANGE_ALLOWED = frozenset(
    {"accounts.change_password", "accounts.logout", "web.set_language", "static", "ops.healthz", "ops.readyz"}
)


def is_api_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


@login_manager.user_loader
def _load_user(login_id: str) -> User | None:
    user_id, _, epoch = login_id.partition(".")
    if not (user_id.isdigit() and epoch.isdigit()):
        return None
    if is_api_path(request.path):
        return None  # the FHIR API and OAuth endpoints take bearer tokens only (cookies would allow CSRF)
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or (user.session_epoch or 0) != int(epoch):
        return None
    return user


def _configure(app: Flask) -> None:
    secure = str(app.config.get("BASE_URL", "")).startswith("https://") or app.config.get("ENV_NAME") == "production"
    # Flask has defaults for these keys, so they are set outright (tests change them after create_app).
    app.config["SESSION_COOKIE_NAME"] = "hub_session"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=int(app.config.get("SESSION_LIFETIME_HOURS", 10)))
    # CSRF is checked in ``_csrf_unless_api`` so that bearer-token APIs can be exempt by path prefix.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # bound to the session instead of a clock
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", f"{app.config.get('QUEUE_PREFIX', 'referral-hub')}:ratelimit")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    app.config.setdefault("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute;20 per hour")
    app.config.setdefault("LOGIN_LIMIT_PER_IP", "30 per minute;200 per hour")
    app.config.setdefault("PASSWORD_RESET_LIMIT_PER_IP", "5 per minute;20 per hour")


def _csrf_unless_api() -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True) or is_api_path(request.path):
        return
    csrf.protect(apply_exemptions=True)  # views marked ``@csrf.exempt`` (webhooks) stay exempt


def _gates() -> Response | None:
    """Set the principal from the session; send a user with a one-time password to change it first."""
    from referral_hub.accounts.services import active_membership, principal_for
    from referral_hub.security.principal import set_current_principal

    if is_api_path(request.path) or request.endpoint == "static":
        return None
    if not current_user.is_authenticated:
        return None
    membership = active_membership(current_user, session.get("org_id"))
    set_current_principal(principal_for(current_user, membership))
    if current_user.must_change_password and request.endpoint not in _PASSWORD_CHANGE_ALLOWED:
        return redirect(url_for("accounts.change_password"))
    return None


def setup_accounts(app: Flask) -> None:
    from referral_hub.accounts import jobs as _jobs  # noqa: F401  (registers the account mail job)
    from referral_hub.accounts.views import bp

    _configure(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    limiter.init_app(app)
    # Bearer-token APIs are not sign-in forms: skip the limiter's per-request bookkeeping there.
    limiter.request_filter(lambda: is_api_path(request.path))
    app.before_request(_csrf_unless_api)
    app.before_request(_gates)
    app.register_blueprint(bp)
