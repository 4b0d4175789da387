"""Fixtures of the accounts tests: the same migrated hub and per-role accounts as the web shell tests."""

from tests.web.hub_fixtures import *  # noqa: F403  (pytest finds fixtures by name in this module)
