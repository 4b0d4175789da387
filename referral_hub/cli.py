"""The ``referral-hub`` command line: a Flask CLI group bound to ``create_app``.

Subcommands are thin wrappers over services (they parse arguments, call a service, commit once, print a
summary). The contract names (``db upgrade``, ``demo``, ``serve``, ``worker``, ``fhir load``) are relied on by
docs, the Makefile and CI. Commands that need the app are registered on ``app.cli`` in
:mod:`referral_hub.commands` (so ``app.test_cli_runner()`` sees them too); ``serve`` lives here because it builds
its apps inside the gunicorn workers.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="referral-hub")
