"""One entry point for exports: the whole directory as HSDS Tabular Data Package or HSDS JSON."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session


def export_dir(session: Session, out_dir: str | Path, *, format: str = "tabular") -> dict[str, int]:
    """Write the directory to ``out_dir``; returns objects written per HSDS object type (tabular) or per file
    (json). ``format``: "tabular" (CSV files + ``datapackage.json``) or "json" (nested HSDS JSON)."""
    if format == "tabular":
        from resource_directory.hsds_tabular import export_tabular

        return export_tabular(session, out_dir)
    if format == "json":
        from resource_directory.hsds_json import export_json

        return export_json(session, out_dir)
    raise ValueError(f"unknown export format {format!r}; expected 'tabular' or 'json'")
