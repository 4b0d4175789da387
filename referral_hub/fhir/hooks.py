"""Write hooks: other features react to resource writes inside the same transaction.

The store calls every hook registered for a resource type after it has written the resource, its version and its
index rows, before the caller commits. A hook may add rows (for example an outbox message) to the same session, so
the reaction commits or rolls back with the write itself. Hooks must be quick and must not commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class WriteEvent:
    """What was written. ``previous`` is the body before an update (None on create).

    ``workflow`` is False for bulk data loads (``referral-hub fhir load``), which bring already-processed records:
    hooks that derive new data (screening extraction, notifications) skip those.
    """

    resource_type: str
    resource_id: str
    resource_pk: int
    version_id: int
    last_updated: datetime
    body: dict[str, Any]
    previous: dict[str, Any] | None
    workflow: bool = True


WriteHook = Callable[[Session, WriteEvent], None]
_hooks: dict[str, list[WriteHook]] = defaultdict(list)


def on_write(*resource_types: str) -> Callable[[WriteHook], WriteHook]:
    """Register ``fn(session, event)`` to run after each write of the given resource types."""

    def register(fn: WriteHook) -> WriteHook:
        for resource_type in resource_types:
            if fn not in _hooks[resource_type]:
                _hooks[resource_type].append(fn)
        return fn

    return register


def run_write_hooks(session: Session, event: WriteEvent) -> None:
    """Called by the store; hooks run in registration order."""
    for hook in _hooks.get(event.resource_type, ()):
        hook(session, event)
