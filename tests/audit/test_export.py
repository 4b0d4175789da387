"""CSV export of the audit log: the CLI and the admin download route."""

from __future__ import annotations

import csv
import io

from flask import Flask

from tests.policy.world import World


def test_cli_export_writes_every_row_as_csv(app: Flask, world: World) -> None:
    world.get(f"Patient/{world.ids['p1']}", "cbo_x")
    result = app.test_cli_runner().invoke(args=["audit", "export", "--since", "2000-01-01"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    reads = [r for r in rows if r["action"] == "R" and r["patient_ref"] == f"Patient/{world.ids['p1']}"]
    assert [r["principal_id"] for r in reads] == [world.clients["cbo_x"].client_id]
    assert rows[-1]["subtype"] == "audit-export"  # the export is itself audited


def test_cli_export_since_the_future_is_only_the_header_and_the_export_row(app: Flask, world: World) -> None:
    result = app.test_cli_runner().invoke(args=["audit", "export", "--since", "2999-01-01"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("id,recorded_at,event_type")
    assert len(result.stdout.splitlines()) == 1


def test_csv_cells_that_look_like_formulas_are_neutralised(app: Flask) -> None:
    from referral_hub.audit.export import iter_csv
    from referral_hub.audit.record import record
    from referral_hub.extensions import db

    with app.app_context():
        record(db.session, event_type="login", subtype="login", action="E", principal_id="=HYPERLINK(1)")
        db.session.commit()
        text = "".join(iter_csv(db.session))
    assert "'=HYPERLINK(1)" in text


def test_download_route_needs_an_admin(app: Flask) -> None:
    assert app.test_client().get("/admin/audit/export.csv").status_code in (401, 302)
