"""The per-Task status timeline: every Task version written through the store is recorded once, with it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from referral_hub.extensions import db
from referral_hub.fhir.store import ResourceStore
from referral_hub.referrals.models import TaskStatusEvent
from referral_hub.referrals.timeline import task_timeline

TASK: dict[str, Any] = {
    "resourceType": "Task",
    "status": "requested",
    "intent": "order",
    "for": {"reference": "Patient/pat-1", "display": "Maria Lopez"},
    "requester": {"reference": "PractitionerRole/clinic-sw"},
    "owner": {"reference": "Organization/food-bank"},
}


def _write_versions(app: Flask, statuses: list[str]) -> tuple[int, str]:
    """Create a Task, then update it through each status, one commit per write (as API calls would)."""
    with app.app_context():
        store = ResourceStore(db.session, [app.config["FHIR_BASE_URL"]])
        created = store.create(copy.deepcopy(TASK)).resource
        db.session.commit()
        body = dict(created.body)
        for status in statuses:
            body = dict(body, status=status)
            store.update("Task", created.resource_id, body)
            db.session.commit()
        return created.pk, created.resource_id


def test_each_task_version_is_recorded_once_with_its_previous_status(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    pk, task_id = _write_versions(app, ["accepted", "in-progress", "completed"])

    with app.app_context():
        events = task_timeline(db.session(), pk)
        assert [(e.version_id, e.previous_status, e.status) for e in events] == [
            (1, None, "requested"),
            (2, "requested", "accepted"),
            (3, "accepted", "in-progress"),
            (4, "in-progress", "completed"),
        ]
        first = events[0]
        assert (first.task_id, first.owner_reference, first.requester_reference, first.for_reference) == (
            task_id,
            "Organization/food-bank",
            "PractitionerRole/clinic-sw",
            "Patient/pat-1",  # the reference only: the patient's name is not copied
        )
        assert all(e.changed_at < f.changed_at for e, f in zip(events, events[1:], strict=False))
        count = db.session.execute(select(func.count()).select_from(TaskStatusEvent)).scalar_one()
        assert count == 4


def test_a_rolled_back_task_write_records_nothing(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    with app.app_context():
        store = ResourceStore(db.session, [app.config["FHIR_BASE_URL"]])
        store.create(copy.deepcopy(TASK))
        db.session.rollback()
        assert db.session.execute(select(func.count()).select_from(TaskStatusEvent)).scalar_one() == 0
