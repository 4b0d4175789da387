"""Registers the app-bound CLI commands on ``app.cli`` (``referral-hub fhir …``, ``demo``, ``worker``, ``jobs``)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from referral_hub.extensions import db


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo data set and print the demo logins (idempotent; passwords are new on every run)."""
    from referral_hub.demo.seed import DemoError, seed_demo

    try:
        report = seed_demo(db.session)
    except DemoError as exc:
        db.session.rollback()
        raise click.ClickException(f"demo data failed to load: {exc}") from None
    db.session.commit()
    base = current_app.config["BASE_URL"]
    click.echo(f"Demo data: {report.ig_resources} IG example resources, {report.instruments} screening instrument(s).")
    click.echo(f"Directory: {report.directory}")
    click.echo(f"Directory at /fhir (HealthcareService, Location, Organization): {report.directory_fhir}")
    click.echo("")
    click.echo(f"Demo logins for {base}/login (one-time passwords, shown only now; change them at first sign-in):")
    for login in report.logins:
        click.echo(f"  {login.role:<16} {login.email:<32} {login.password}   ({login.organization})")
    click.echo("  The admin sets up an authenticator app (TOTP) at first sign-in.")
    click.echo("")
    click.echo("Demo API client (SMART backend services, client_secret_basic):")
    click.echo(f"  client_id={report.client_id}  client_secret={report.client_secret}")
    click.echo(f"  token endpoint {base}/oauth/token, FHIR API {current_app.config['FHIR_BASE_URL']}")


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
