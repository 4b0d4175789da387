"""``referral-hub clients …``: register API clients (thin wrapper over ``services.register_client``)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from referral_hub.extensions import db

clients_cli = AppGroup("clients", help="SMART Backend Services API clients.")


@clients_cli.command("create")
@click.option("--name", required=True, help="A name people recognise, e.g. 'Eastside Clinic EHR'.")
@click.option("--org", "org_key", required=True, help="Organization slug (or numeric id) the client acts for.")
@click.option("--scopes", required=True, help="SMART system scopes, e.g. 'system/Task.cruds system/*.rs'.")
@click.option(
    "--jwks",
    "jwks_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON Web Key Set with the client's public keys (private_key_jwt); without it a secret is issued.",
)
@click.option("--all-compartments", is_flag=True, help="See every organization's data (program organizations only).")
def create_client_command(name: str, org_key: str, scopes: str, jwks_path: Path | None, all_compartments: bool) -> None:
    """Register a client and print its client_id (and its one-time client_secret) as JSON."""
    from referral_hub.accounts.services import find_organization
    from referral_hub.auth.services import ClientRegistrationError, register_client

    organization = find_organization(db.session, org_key)
    if organization is None:
        raise click.ClickException(f"no organization {org_key!r}")
    jwks = None
    if jwks_path is not None:
        try:
            jwks = json.loads(jwks_path.read_text())
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"cannot read the JWKS: {exc}") from None
    try:
        registered = register_client(
            db.session,
            name=name,
            organization=organization,
            scopes=scopes,
            jwks=jwks,
            all_compartments=all_compartments,
        )
    except ClientRegistrationError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    client = registered.client
    output = {
        "client_id": client.client_id,
        "name": client.name,
        "organization": organization.slug,
        "scopes": client.scopes,
        "all_compartments": client.all_compartments,
        "token_endpoint_auth_method": "private_key_jwt" if jwks is not None else "client_secret_basic",
    }
    if registered.client_secret is not None:
        output["client_secret"] = registered.client_secret
    click.echo(json.dumps(output, indent=2))
    if registered.client_secret is not None:
        click.echo("The client_secret is shown only now; store it in the partner's secret store.", err=True)


__all__ = ["clients_cli"]
