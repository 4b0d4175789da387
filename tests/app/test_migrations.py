"""Migrations: one head, and the models match what the migrations build (drift shows up in CI)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from referral_hub.app import MIGRATIONS_DIR


def test_single_migration_head() -> None:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_models_match_the_migrated_schema(app: Flask) -> None:
    from referral_hub.extensions import db
    from referral_hub.models import all_metadata

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = []
        for metadata in all_metadata():
            differences += [
                diff
                for diff in compare_metadata(context, metadata)
                if not (diff[0] == "remove_table" or (isinstance(diff, tuple) and "remove_" in str(diff[0])))
            ]
        assert differences == []
