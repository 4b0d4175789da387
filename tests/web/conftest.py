"""Fixtures of the web shell tests (defined in ``hub_fixtures``, shared with the accounts tests)."""

from tests.web.hub_fixtures import *  # noqa: F403  (pytest finds fixtures by name in this module)
