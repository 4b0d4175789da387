"""Who may open which UI page, declared on every view so the authorization matrix can be tested exhaustively.

Each UI view carries ``hub_access``: ``"public"``, ``"authenticated"`` or a frozenset of roles. The decorators
below enforce it (anonymous → login page, signed-in without the role → 403) and the matrix test in
``tests/web/test_authorization_matrix.py`` fails for any UI route that does not declare it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app
from flask_login import current_user

from referral_hub.security.principal import ROLES, current_principal

F = TypeVar("F", bound=Callable[..., Any])
Access = str | frozenset[str]


def public(view: F) -> F:
    """Reachable without signing in (login, password reset, error pages)."""
    view.hub_access = "public"  # type: ignore[attr-defined]
    return view


def authenticated(view: F) -> F:
    """Any signed-in user, whatever the role."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
        return view(*args, **kwargs)

    wrapper.hub_access = "authenticated"  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def roles_required(*roles: str) -> Callable[[F], F]:
    """Signed-in users holding at least one of ``roles`` in the organization they act for."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    allowed = frozenset(roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            principal = current_principal()
            if principal is None or not (principal.roles & allowed):
                abort(403)
            return view(*args, **kwargs)

        wrapper.hub_access = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def access_of(view: Callable[..., Any]) -> Access | None:
    """The declared access of a view function (None: undeclared)."""
    return getattr(view, "hub_access", None)


def may_open(access: Access | None, roles: frozenset[str], signed_in: bool) -> bool:
    """Whether a user with ``roles`` (or an anonymous visitor) may open a view with ``access``."""
    if access == "public":
        return True
    if not signed_in:
        return False
    if access == "authenticated":
        return True
    return bool(isinstance(access, frozenset) and roles & access)
