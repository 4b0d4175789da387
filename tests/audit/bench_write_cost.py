"""What Provenance, compartments and the audit row cost on a referral Task create (issue 3 scope 5).

In-process, single thread, PostgreSQL (``BENCH_DATABASE_URL``, default the ``i3b_bench`` database): the time of
``POST /fhir/Task`` through the Flask test client with every write hook on, then with the Provenance/audit hook
and the compartment hook switched off, beside a bare ``INSERT … RETURNING`` of the same JSON plus commit (the
baseline of issue 2's bench). Prints mean milliseconds per call and the throughput ratios.

Run: ``.venv/bin/python -m tests.audit.bench_write_cost [N]``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import sqlalchemy as sa

from tests.auth.support import authorize_test_clients, register_test_client
from tests.fhir_api.conftest import referral_task

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/i3b_bench"


def _fresh_database(url: str) -> None:
    admin = sa.create_engine(sa.engine.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = sa.engine.make_url(url).database
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _timed(label: str, n: int, fn: Callable[[int], None]) -> float:
    for i in range(min(20, n)):  # warm-up
        fn(i)
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    per_call = (time.perf_counter() - start) / n * 1000
    print(f"{label:<44} {per_call:7.2f} ms/call  {1000 / per_call:7.0f}/s")
    return per_call


def main(n: int) -> None:
    from flask_migrate import upgrade

    from referral_hub import create_app
    from referral_hub.audit import provenance
    from referral_hub.extensions import db
    from referral_hub.fhir import hooks
    from referral_hub.policy import hooks as policy_hooks

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    _fresh_database(url)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "BASE_URL": "http://localhost", "FHIR_BASE_URL": "http://localhost/fhir"},
        environ={"REFERRAL_HUB_ENV": "testing", "REFERRAL_HUB_LOG_LEVEL": "WARNING"},
    )
    with app.app_context():
        upgrade()
    clinic = register_test_client(app, org_slug="clinic-a", org_kind="clinic", scopes="system/*.cruds")
    cbo = register_test_client(app, org_slug="cbo-x", org_kind="cbo", scopes="system/*.cruds")
    authorize_test_clients(app)
    client = app.test_client()
    from tests.auth.support import mint_token

    headers = {"Authorization": f"Bearer {mint_token(app, clinic)}", "Content-Type": "application/fhir+json"}
    body = referral_task(requester={"reference": clinic.organization_ref}, owner={"reference": cbo.organization_ref})

    def create(_i: int) -> None:
        response = client.post("/fhir/Task", json=body, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)

    table = sa.Table(
        "bench_bare_insert",
        sa.MetaData(),
        sa.Column("pk", sa.BigInteger, primary_key=True),
        sa.Column("body", sa.dialects.postgresql.JSONB),
    )
    with app.app_context():
        table.create(db.engine, checkfirst=True)
        engine = db.engine

        def bare(_i: int) -> None:
            with engine.begin() as conn:
                conn.execute(sa.insert(table).values(body=body).returning(table.c.pk)).scalar_one()

        bare_ms = _timed("bare INSERT + commit", n, bare)
    full_ms = _timed("POST /fhir/Task, all hooks", n, create)
    saved = {k: list(v) for k, v in hooks._hooks.items()}
    for registered in hooks._hooks.values():
        if provenance.record_write in registered:
            registered.remove(provenance.record_write)
    no_prov_ms = _timed("POST /fhir/Task, without Provenance+audit", n, create)
    for registered in hooks._hooks.values():
        if policy_hooks.maintain_compartments in registered:
            registered.remove(policy_hooks.maintain_compartments)
    bare_hub_ms = _timed("POST /fhir/Task, without any issue-3 hook", n, create)
    hooks._hooks.clear()
    hooks._hooks.update(saved)
    print(f"Provenance + audit row: {full_ms - no_prov_ms:+.2f} ms; compartments: {no_prov_ms - bare_hub_ms:+.2f} ms")
    ratio, ratio_without = bare_ms / full_ms, bare_ms / bare_hub_ms
    print(f"Task create / bare insert throughput: {ratio:.0%} (without issue-3 hooks {ratio_without:.0%})")
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
