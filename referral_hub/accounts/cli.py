"""``referral-hub orgs create`` and ``referral-hub users create``: thin wrappers over :mod:`.services`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from referral_hub.accounts.models import ORGANIZATION_KINDS
from referral_hub.accounts.services import AccountError, create_organization, create_user, find_organization
from referral_hub.extensions import db
from referral_hub.security.principal import ROLES

orgs_cli = AppGroup("orgs", help="Organizations taking part in the hub (clinics, CBOs, programs).")
users_cli = AppGroup("users", help="Staff user accounts.")


@orgs_cli.command("create")
@click.option("--name", required=True, help="Display name, e.g. 'Eastside Food Pantry'.")
@click.option("--kind", required=True, type=click.Choice(ORGANIZATION_KINDS))
@click.option("--slug", default=None, help="Short URL-safe name (default: derived from the name).")
def create_org_command(name: str, kind: str, slug: str | None) -> None:
    """Create an organization and its FHIR Organization resource."""
    try:
        organization = create_organization(
            db.session, name, kind, slug, local_bases=(current_app.config["FHIR_BASE_URL"],)
        )
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {organization.kind} organization '{organization.slug}' ({organization.fhir_reference}).")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--org", "org_key", required=True, help="Organization slug (or id).")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", "display_name", default="", help="Display name (default: the part of the email before @).")
def create_user_command(email: str, org_key: str, role: str, display_name: str) -> None:
    """Create a user and print a one-time password (changed at first sign-in)."""
    organization = find_organization(db.session, org_key)
    if organization is None:
        raise click.ClickException(f"no organization {org_key!r}")
    try:
        user, one_time = create_user(db.session, email, organization, role, display_name=display_name)
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created user {user.id} as {role} of '{organization.slug}'.")
    click.echo(f"One-time password (shown once; must be changed at first sign-in): {one_time}")
    if role == "admin":
        click.echo("This role must also set up two-step sign-in (TOTP) at first sign-in.")
