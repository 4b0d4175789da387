"""``referral-hub questionnaires …``: load a licensed instrument, sync shipped ones into the FHIR store."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from questionnaires import InstrumentError
from referral_hub.extensions import db
from referral_hub.fhir.store import ResourceStore
from referral_hub.screening.instruments import load_custom_instrument, sync_instruments

questionnaires_cli = AppGroup("questionnaires", help="Screening instruments.")


def _store() -> ResourceStore:
    return ResourceStore(db.session, (current_app.config["FHIR_BASE_URL"],))


@questionnaires_cli.command("load")
@click.argument("questionnaire", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rules", "rules", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load(questionnaire: Path, rules: Path) -> None:
    """Load a licensed instrument (FHIR Questionnaire JSON) with its scoring rule table (YAML)."""
    try:
        instrument = load_custom_instrument(db.session, _store(), questionnaire, rules)
    except InstrumentError as exc:
        db.session.rollback()
        for message in exc.messages:
            click.echo(f"error: {message}", err=True)
        raise click.ClickException("the instrument was not loaded") from None
    db.session.commit()
    unverified = list(instrument.rules.unverified_rules())
    click.echo(f"Loaded {instrument.url}|{instrument.version} ({instrument.key})")
    if unverified:
        click.echo(f"warning: {len(unverified)} rule(s) are marked unverified; review them before clinical use")


@questionnaires_cli.command("sync")
def sync() -> None:
    """Store every available instrument's Questionnaire in the FHIR store (idempotent)."""
    count = sync_instruments(db.session, _store())
    db.session.commit()
    click.echo(f"{count} Questionnaire(s) stored or updated")
