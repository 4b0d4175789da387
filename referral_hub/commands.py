"""Registers the app-bound CLI commands on ``app.cli`` (``referral-hub fhir …``, ``demo``, ``worker``, ``jobs``)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from referral_hub.extensions import db


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo data set (idempotent: running it again updates in place)."""
    from referral_hub.demo import IG_EXAMPLES_DIR
    from referral_hub.fhir.loader import load_directory
    from referral_hub.fhir.store import ResourceStore
    from referral_hub.screening.instruments import sync_instruments

    store = ResourceStore(db.session, (current_app.config["FHIR_BASE_URL"],))
    report = load_directory(store, IG_EXAMPLES_DIR)
    if report.errors:
        db.session.rollback()
        raise click.ClickException("demo data failed to load: " + "; ".join(report.errors))
    instruments = sync_instruments(db.session, store)
    db.session.commit()
    click.echo(f"Demo data: {report.created + report.updated} IG example resources loaded.")
    click.echo(f"Screening instruments: {instruments} Questionnaire(s) stored or updated.")
    click.echo(f"FHIR API: {current_app.config['FHIR_BASE_URL']}  (try {current_app.config['FHIR_BASE_URL']}/metadata)")


def register_commands(app: Flask) -> None:
    from referral_hub.fhir.cli import fhir_cli

    app.cli.add_command(fhir_cli)
    app.cli.add_command(demo_command)
    from referral_hub.audit.cli import audit_cli
    from referral_hub.auth.cli import clients_cli

    app.cli.add_command(clients_cli)
    app.cli.add_command(audit_cli)
    from referral_hub.accounts.cli import orgs_cli, users_cli

    app.cli.add_command(orgs_cli)
    app.cli.add_command(users_cli)
    from referral_hub.jobs.cli import jobs_group, worker_command

    app.cli.add_command(worker_command, "worker")
    app.cli.add_command(jobs_group, "jobs")
