"""The ``referral-hub`` command line: a Flask CLI group bound to ``create_app``.

Subcommands are thin wrappers over services (they parse arguments, call a service, commit once, print a
summary). The contract names (``db upgrade``, ``demo``, ``serve``, ``worker``, ``fhir load``) are relied on by
docs, the Makefile and CI.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from referral_hub.app import create_app


def _create_app() -> object:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, add_version_option=False)
def cli() -> None:
    """SDoH referral hub administration."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="referral-hub")
