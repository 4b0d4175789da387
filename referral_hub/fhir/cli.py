"""``referral-hub fhir …`` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from referral_hub.extensions import db
from referral_hub.fhir.loader import load_directory
from referral_hub.fhir.store import ResourceStore

fhir_cli = AppGroup("fhir", help="FHIR resource store.")


@fhir_cli.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def load(directory: Path) -> None:
    """Load every FHIR JSON resource or Bundle in DIRECTORY (any order; ids are kept; all or nothing)."""
    store = ResourceStore(db.session, (current_app.config["FHIR_BASE_URL"],))
    report = load_directory(store, directory)
    if report.errors:
        db.session.rollback()
        for error in report.errors:
            click.echo(f"error: {error}", err=True)
        raise click.ClickException(f"{len(report.errors)} file(s) invalid; nothing was loaded")
    db.session.commit()
    click.echo(f"{report.created} created, {report.updated} updated, {len(report.skipped)} files skipped (not FHIR)")
