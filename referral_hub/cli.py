"""The ``referral-hub`` command line: a Flask CLI group bound to ``create_app``.

Subcommands are thin wrappers over services (they parse arguments, call a service, commit once, print a
summary). The contract names (``db upgrade``, ``demo``, ``serve``, ``worker``, ``fhir load``) are relied on by
docs, the Makefile and CI.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from referral_hub.app import create_app


def _create_app() -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def cli() -> None:
    """SDoH referral hub administration."""


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="Worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
@click.option("--timeout", default=60, show_default=True, type=int, help="Seconds before a stuck worker restarts.")
def serve_command(host: str, port: int, workers: int, threads: int, timeout: int) -> None:
    """Serve the hub with gunicorn (production WSGI server)."""
    from referral_hub.serve import serve

    click.echo(f"Serving the referral hub on http://{host}:{port} ({workers} workers × {threads} threads)")
    serve(host, port, workers, threads, timeout)


@cli.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo data set (idempotent: running it again updates in place)."""
    from referral_hub.demo import IG_EXAMPLES_DIR
    from referral_hub.extensions import db
    from referral_hub.fhir.loader import load_directory
    from referral_hub.fhir.store import ResourceStore

    store = ResourceStore(db.session, (current_app.config["FHIR_BASE_URL"],))
    report = load_directory(store, IG_EXAMPLES_DIR)
    if report.errors:
        db.session.rollback()
        raise click.ClickException("demo data failed to load: " + "; ".join(report.errors))
    db.session.commit()
    click.echo(f"Demo data: {report.created + report.updated} IG example resources loaded.")
    click.echo(f"FHIR API: {current_app.config['FHIR_BASE_URL']}  (try {current_app.config['FHIR_BASE_URL']}/metadata)")


def _register_commands() -> None:
    from flask_migrate.cli import db as db_group

    from referral_hub.fhir.cli import fhir_cli

    cli.add_command(db_group, "db")
    cli.add_command(fhir_cli)
    try:
        from referral_hub.jobs.cli import jobs_group, worker_command
    except ImportError:  # the jobs package adds these commands when it lands
        return
    cli.add_command(worker_command, "worker")
    cli.add_command(jobs_group, "jobs")


_register_commands()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="referral-hub")
