"""Demo data for ``make run``: the IG example resources (without PRAPARE) and, as features land, more."""

from __future__ import annotations

from pathlib import Path

IG_EXAMPLES_DIR = Path(__file__).resolve().parent / "ig_examples"
