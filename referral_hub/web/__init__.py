"""The web app shell: layouts, role-aware navigation, home pages, error pages, security headers, translations.

``init_app`` is the one call ``create_app`` makes for the UI: it binds translations (:mod:`referral_hub.i18n`),
the accounts feature (login, CSRF, rate limits) and the shell's own pages. Call it after the API blueprints are
registered, so the UI error pages can hand API paths back to the API's own handlers.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from referral_hub import i18n
    from referral_hub.accounts import init_app as init_accounts
    from referral_hub.security.principal import current_principal
    from referral_hub.web.errors import register_error_pages
    from referral_hub.web.navigation import KIND_LABELS, LAYOUT_TITLES, ROLE_LABELS, layout_for, nav_for
    from referral_hub.web.security_headers import add_security_headers
    from referral_hub.web.views import bp

    i18n.init_app(app)
    init_accounts(app)
    app.register_blueprint(bp)
    register_error_pages(app)
    app.after_request(add_security_headers)

    @app.context_processor
    def _shell_context() -> dict[str, object]:
        principal = current_principal()
        return {
            "principal": principal,
            "nav_items": nav_for(principal),
            "layout": layout_for(principal),
            "layout_titles": LAYOUT_TITLES,
            "role_labels": ROLE_LABELS,
            "kind_labels": KIND_LABELS,
        }
