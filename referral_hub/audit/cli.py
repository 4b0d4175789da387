"""``referral-hub audit export --since … > file.csv``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from referral_hub.extensions import db

audit_cli = AppGroup("audit", help="The append-only audit log.")


@audit_cli.command("export")
@click.option("--since", help="Only events recorded on or after this date or instant (e.g. 2026-01-31).")
@click.option("--until", help="Only events recorded before this date or instant.")
def export_command(since: str | None, until: str | None) -> None:
    """Write the audit log as CSV to standard output."""
    from referral_hub.audit.export import iter_csv
    from referral_hub.audit.record import record
    from referral_hub.fhir.datetimes import parse_range

    bounds = []
    for name, text in (("since", since), ("until", until)):
        if text is None:
            bounds.append(None)
            continue
        parsed = parse_range(text)
        if parsed is None:
            raise click.BadParameter(f"{text!r} is not a date or instant", param_hint=f"--{name}")
        bounds.append(parsed[0])
    record(db.session, event_type="export", subtype="audit-export", action="E", query="cli")
    db.session.commit()
    for line in iter_csv(db.session, bounds[0], bounds[1]):
        click.echo(line, nl=False)


__all__ = ["audit_cli"]
