"""Fixtures for the search-index tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fhir_indexing.ig_examples import load_example


@pytest.fixture
def example() -> Callable[[str], dict[str, Any]]:
    return load_example
