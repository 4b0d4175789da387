"""Column-wise validation (``_validate_batch``) reports and converts exactly as row-by-row validation.

Why: the importer validates each object's rows column by column for speed and sends any row a column or row
rule refuses back through the single-row ``_validate``. A feed with every kind of bad cell must therefore give
the same values, keys and refusal reasons, in the same order, either way -- the per-row report is the import's
contract with the data steward.
"""

from __future__ import annotations

import random
from pathlib import Path

from resource_directory.hsds_tabular import read_tabular
from resource_directory.importer import Record, _validate, _validate_batch
from tests.bench.gen_directory import write_tabular_package

ODD_CELLS = [
    "", "x", "\x00", "abc\n", "12.5", "1e3", "true", "-5", "2024-02-30", "2024-01-02", "08:00", "25:00", "MO,XX",
    "WEEKLY", "DAILY", "http//x", "https://example.org", "a@b.c", None, 3, 2.0, True, [1], "300", "-91",
    "00000000-0000-4000-8000-00000000000Z", "00000003-0000-4000-8000-000000000000\n", "x" * 40,
]  # fmt: skip


def _by_table(records: list[Record]) -> dict[str, list[Record]]:
    tables: dict[str, list[Record]] = {}
    for rec in records:
        tables.setdefault(rec.table, []).append(rec)
    return tables


def _assert_same(table: str, rows: list[Record]) -> int:
    """Compare both paths on ``rows``; returns how many rows were refused."""
    refused = 0
    for rec, batch in zip(rows, _validate_batch(table, rows, check_coordinates=True), strict=True):
        single = _validate(rec, check_coordinates=True)
        assert batch.key == single.key
        assert list(batch.values.items()) == list(single.values.items())
        assert [type(v) for v in batch.values.values()] == [type(v) for v in single.values.values()]
        assert batch.problems == single.problems
        refused += bool(single.problems)
    return refused


def test_column_wise_validation_equals_row_validation_on_a_feed_with_bad_cells(tmp_path: Path) -> None:
    write_tabular_package(tmp_path / "feed", 300, seed=11)
    records = read_tabular(tmp_path / "feed").records
    rng = random.Random(5)
    for rec in rng.sample(records, len(records) // 4):
        name = rng.choice([*rec.values, "latitude", "minimum_age", "maximum_age", "opens_at", "valid_to", "extra"])
        rec.values[name] = rng.choice(ODD_CELLS)
    for rec in rng.sample(records, 20):
        rec.values.pop("id", None)
    records[0].issues.append("row has 3 cells but the header has 5")
    records.append(Record("no_such_object", {"id": "00000000-0000-4000-8000-000000000000"}, "x.csv", 2))

    refused = sum(_assert_same(table, rows) for table, rows in _by_table(records).items())
    assert refused > 100  # the odd cells did refuse rows, so both paths were compared


def test_one_odd_cell_in_an_otherwise_clean_column_is_reported_as_row_validation_reports_it(tmp_path: Path) -> None:
    write_tabular_package(tmp_path / "feed", 60, seed=12)
    tables = _by_table(read_tabular(tmp_path / "feed").records)
    columns = [
        ("service", "organization_id"),  # UUID
        ("service", "name"),  # text
        ("service", "status"),  # enum
        ("service", "minimum_age"),  # number
        ("location", "latitude"),  # number with a row rule
        ("schedule", "opens_at"),  # time, canonicalised
        ("schedule", "freq"),  # enum
        ("schedule", "valid_to"),  # date
    ]
    for cell in ODD_CELLS:
        for table, name in columns:
            rows = [Record(r.table, dict(r.values), r.file, r.row) for r in tables[table]]
            rows[3].values[name] = cell
            _assert_same(table, rows)
