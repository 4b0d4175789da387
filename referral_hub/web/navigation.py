"""Role-aware navigation and the page layout each role gets.

Features add their pages with :func:`register_nav_item`; an item shows only when its endpoint exists in the app
and the principal holds one of its roles, so the menu never links to a page that would answer 403 or 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import LazyString

from referral_hub.i18n import _l
from referral_hub.security.principal import Principal


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: LazyString | str
    #: None: every signed-in user.
    roles: frozenset[str] | None = None
    order: int = 100


_ITEMS: dict[str, NavItem] = {}

#: Role labels in plain language (product.md: words people use), translated.
ROLE_LABELS: dict[str, LazyString] = {
    "clinic_staff": _l("Clinic staff"),
    "cbo_staff": _l("Community organization staff"),
    "cbo_admin": _l("Community organization administrator"),
    "program_manager": _l("Program manager"),
    "admin": _l("Hub administrator"),
}

KIND_LABELS: dict[str, LazyString] = {
    "clinic": _l("Clinic"),
    "cbo": _l("Community organization"),
    "program": _l("Program"),
}

#: Layout per role family: ``clinic`` (staff), ``cbo`` (portal), ``manager`` (program and hub administration).
LAYOUT_TITLES: dict[str, LazyString] = {
    "clinic": _l("Clinic workspace"),
    "cbo": _l("Community organization portal"),
    "manager": _l("Program and administration"),
    "patient": _l("Your referrals"),
}


def register_nav_item(endpoint: str, label: LazyString | str, roles: set[str] | None = None, order: int = 100) -> None:
    """Add (or replace) a navigation entry; use a lazy string (``_l``) for the label."""
    _ITEMS[endpoint] = NavItem(endpoint, label, frozenset(roles) if roles is not None else None, order)


def nav_for(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    items = [
        item
        for item in _ITEMS.values()
        if item.endpoint in current_app.view_functions and (item.roles is None or item.roles & principal.roles)
    ]
    return sorted(items, key=lambda item: (item.order, item.endpoint))


def layout_for(principal: Principal | None) -> str:
    roles = principal.roles if principal else frozenset()
    if roles & {"admin", "program_manager"}:
        return "manager"
    if roles & {"cbo_staff", "cbo_admin"}:
        return "cbo"
    return "clinic"


register_nav_item("web.home", _l("Home"), order=0)
register_nav_item("web.patients", _l("Patients"), {"clinic_staff"}, order=10)
register_nav_item("web.admin_accounts", _l("Organizations and people"), {"admin"}, order=80)
register_nav_item("accounts.account", _l("My account"), order=90)
