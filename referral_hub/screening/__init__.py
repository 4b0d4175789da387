"""Screening in the hub: instruments known to the hub and extraction when QuestionnaireResponses are stored."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the extraction hooks (importing the module registers them), the CLI group and the staff pages."""
    from referral_hub.screening import hooks  # noqa: F401  (registers write hooks)
    from referral_hub.screening.cli import questionnaires_cli
    from referral_hub.screening.views import bp as screening_bp

    app.cli.add_command(questionnaires_cli)
    app.register_blueprint(screening_bp)
