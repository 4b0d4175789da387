"""The community resource directory inside the hub (issue 5, scopes 6–9): the HSDS API, the staff search pages,
the listing freshness job, the ``referral-hub directory`` commands and the demo directory.

The directory itself (HSDS model, import/export, geocoding, search) is the ``resource_directory`` package; this
package puts it on the web and into operations. ``init_app`` is the one call ``create_app`` makes.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Settings, the ``/hsds`` API, the ``/directory`` pages, the freshness and FHIR-projection jobs, the CLI."""
    from referral_hub.directory import fhir_sync, freshness, geocoding_jobs  # noqa: F401  (register their jobs)
    from referral_hub.directory.cli import directory_cli
    from referral_hub.directory.fhir_search import NEAR, NEAR_DEFINITION, NEAR_DOCUMENTATION, near_search
    from referral_hub.directory.hsds_api import bp as hsds_bp
    from referral_hub.directory.settings import configure
    from referral_hub.directory.views import bp as views_bp
    from referral_hub.fhir.search import register_special_search

    configure(app)
    register_special_search(
        "HealthcareService", NEAR, near_search, definition=NEAR_DEFINITION, documentation=NEAR_DOCUMENTATION
    )
    app.register_blueprint(hsds_bp, url_prefix="/hsds")
    app.register_blueprint(views_bp, url_prefix="/directory")
    app.cli.add_command(directory_cli)


__all__ = ["init_app"]
