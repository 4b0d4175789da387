"""``referral-hub directory …``: import, export, geocode, verify-stale, demo.

Exit codes: 0 done; 1 the feed was refused (the report lists every refused row with its reason, nothing was
written); 2 usage errors (click's own).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from referral_hub.extensions import db


@click.group("directory")
def directory_cli() -> None:
    """The community resource directory (HSDS 3.0)."""


@directory_cli.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["tabular", "json", "ohana", "mapping"]),
    default=None,
    help="Feed format (guessed from the files when omitted).",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Column-mapping file (YAML/JSON) for a CSV export that is not HSDS.",
)
@click.option("--partial", is_flag=True, help="Write the good rows even if some are refused (default: all or nothing).")
@click.option("--max-issues", type=int, default=50, show_default=True, help="Refused rows/warnings to print.")
@with_appcontext
def import_command(path: Path, fmt: str | None, mapping: Path | None, partial: bool, max_issues: int) -> None:
    """Import PATH (a directory of CSV/JSON files, one file, or a mapping file) in one transaction."""
    from referral_hub.directory.geocoding_jobs import request_geocoding
    from resource_directory.importer import import_path

    try:
        report = import_path(db.session, path, format=fmt, mapping=mapping, strict=not partial, commit=False)
        if report.written:
            # New locations get coordinates, then /fhir follows: jobs that run after this commit.
            request_geocoding(db.session)
            db.session.commit()
        else:
            db.session.rollback()
    except Exception:
        db.session.rollback()
        raise
    click.echo(report.summary())
    for issue in report.refused[:max_issues]:
        click.echo(f"refused: {issue}", err=True)
    for issue in report.warnings[:max_issues]:
        click.echo(f"warning: {issue}", err=True)
    hidden = max(0, len(report.refused) - max_issues) + max(0, len(report.warnings) - max_issues)
    if hidden:
        click.echo(f"… and {hidden} more (use --max-issues)", err=True)
    if report.refused and not report.written:
        raise click.exceptions.Exit(1)
    if report.written:
        click.echo(
            "geocoding new locations and updating /fhir in the background (jobs directory.geocode_pending, "
            "directory.project_fhir)"
        )


@directory_cli.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["tabular", "json"]), default="tabular", show_default=True)
@with_appcontext
def export_command(directory: Path, fmt: str) -> None:
    """Write the whole directory to DIRECTORY as an HSDS Tabular Data Package or as HSDS JSON."""
    from resource_directory.exporter import export_dir

    counts = export_dir(db.session, directory, format=fmt)
    for name, count in sorted(counts.items()):
        click.echo(f"{name}: {count}")


@directory_cli.command("geocode")
@click.option("--limit", type=int, default=None, help="At most this many locations (default: all pending).")
@with_appcontext
def geocode_command(limit: int | None) -> None:
    """Give pending locations coordinates with the configured geocoder (offline unless configured)."""
    from referral_hub.directory.fhir_sync import request_projection
    from referral_hub.directory.settings import geocoder
    from resource_directory.geocoding import geocode_pending

    report = geocode_pending(db.session, geocoder(current_app, db.session), limit)
    if report.geocoded:
        request_projection(db.session)  # FHIR Location.position follows the new coordinates
    db.session.commit()
    click.echo(f"geocoded {len(report.geocoded)} location(s); {len(report.not_found)} not found")


@directory_cli.command("project-fhir")
@with_appcontext
def project_fhir_command() -> None:
    """Bring the FHIR projection (/fhir Organization, Location, HealthcareService) up to date now.

    Imports and geocoding enqueue this as a job; run it by hand after changing directory rows some other way.
    """
    from referral_hub.directory.fhir_sync import project_directory

    report = project_directory(db.session)
    db.session.commit()
    click.echo(report.summary())


@directory_cli.command("verify-stale")
@with_appcontext
def verify_stale_command() -> None:
    """Ask the contacts of stale listings whether they are still correct (run daily from cron).

    Enqueues the ``directory.verify_stale`` job: with Redis a worker runs it; without, it runs here after the
    commit.
    """
    from referral_hub.jobs import enqueue

    message = enqueue("directory.verify_stale")
    db.session.commit()
    click.echo(f"enqueued directory.verify_stale (job {message.id})")


@directory_cli.command("demo")
@click.option("--no-nyc", is_flag=True, help="Skip the NYC sites (about 5,400; the slow part).")
@with_appcontext
def demo_command(no_nyc: bool) -> None:
    """Load the demo directory (Open Eligibility, the county sample, NYC sites), geocoded offline."""
    from referral_hub.directory.demo import load_demo_directory

    report = load_demo_directory(db.session, nyc=not no_nyc)
    click.echo(report.summary())
