"""Per-row import report.

Why a report and not exceptions: an import of a real directory (thousands of rows) must say *every* bad row
at once, with the file, row number, field and a reason a data steward can act on, and it must say what the
import did with the good rows (created / updated / unchanged) so the steward can trust a re-run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RowIssue:
    """One problem with one input row.

    ``row`` is the physical line number in a CSV file (the header is line 1) or ``None`` for JSON, where
    ``path`` gives a JSON-pointer-like location instead.
    """

    file: str
    row: int | None
    table: str
    record_id: str | None
    field: str | None
    reason: str
    path: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" if self.row is not None else self.file
        if self.path:
            where += f" {self.path}"
        what = self.table + (f" {self.record_id}" if self.record_id else "")
        fld = f" [{self.field}]" if self.field else ""
        return f"{where}: {what}{fld}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "row": self.row,
            "path": self.path,
            "table": self.table,
            "id": self.record_id,
            "field": self.field,
            "reason": self.reason,
        }


@dataclass
class ImportReport:
    """Outcome of one ``import_path`` call (one transaction).

    ``refused`` lists every issue that made a row unacceptable (a row can have several issues);
    ``warnings`` lists accepted rows with something worth a look (e.g. a reference to an object published
    elsewhere). ``written`` is False when nothing reached the database (strict mode with refusals).
    """

    source: str
    format: str
    strict: bool
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    refused: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    metadata_rows: int = 0
    written: bool = False
    seconds: float = 0.0
    # Seconds per phase (read, validate, references, write, commit): where a slow import spends its time.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.refused

    @property
    def refused_rows(self) -> int:
        """Number of distinct refused rows (several issues on one row count once)."""
        return len({(i.file, i.row, i.path, i.table, i.record_id) for i in self.refused})

    def total(self, kind: str) -> int:
        return sum(getattr(self, kind).values())

    def summary(self) -> str:
        mode = "strict" if self.strict else "partial"
        head = (
            f"{self.source} ({self.format}, {mode}): created {self.total('created')}, "
            f"updated {self.total('updated')}, unchanged {self.total('unchanged')}, "
            f"refused rows {self.refused_rows}, warnings {len(self.warnings)}, "
            f"{'written' if self.written else 'NOTHING WRITTEN'} in {self.seconds:.2f}s"
        )
        lines = [head] + [f"  refused: {i}" for i in self.refused[:50]]
        if len(self.refused) > 50:
            lines.append(f"  ... and {len(self.refused) - 50} more refusals")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "strict": self.strict,
            "written": self.written,
            "seconds": round(self.seconds, 3),
            "timings": {phase: round(seconds, 3) for phase, seconds in self.timings.items()},
            "created": dict(self.created),
            "updated": dict(self.updated),
            "unchanged": dict(self.unchanged),
            "metadata_rows": self.metadata_rows,
            "refused": [i.as_dict() for i in self.refused],
            "warnings": [i.as_dict() for i in self.warnings],
        }
