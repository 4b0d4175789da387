"""Fixtures for the audit tests: the authorization world (``tests/policy/world.py``) on each database."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.policy.world import World, build_world


@pytest.fixture
def world(app: Flask) -> World:
    return build_world(app)
