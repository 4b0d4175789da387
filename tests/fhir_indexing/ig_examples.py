"""The IG 2.3.0 example resources from ../shared (read-only), for the search-index tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EXAMPLES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "fhir" / "sdoh-cc-examples"


def example_paths() -> list[Path]:
    """Every IG example resource (57 files), failing loudly if the shared folder is missing."""
    paths = sorted(path for path in EXAMPLES_DIR.glob("*.json") if not path.name.startswith("_"))
    if not paths:
        raise FileNotFoundError(f"the IG examples are expected in {EXAMPLES_DIR}")
    return paths


_CACHE: dict[str, dict[str, Any]] = {}


def load_example(stem: str) -> dict[str, Any]:
    """A fresh deep copy of an IG example by file stem (e.g. ``Patient-pat-53234``), safe to mutate."""
    if stem not in _CACHE:
        _CACHE[stem] = json.loads((EXAMPLES_DIR / f"{stem}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(_CACHE[stem])
