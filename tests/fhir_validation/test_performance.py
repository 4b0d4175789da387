"""Validating a referral Task must stay well under 1 ms on average (brief rule 8)."""

from __future__ import annotations

import copy
import time
from typing import Any

from referral_hub.fhir.validation import validate_resource

RUNS = 500


def _mean_ms(task: dict[str, Any], previous: dict[str, Any] | None) -> float:
    """Mean CPU time of this process per validation: other work on a shared 2-core machine (the other xdist
    worker, benchmarks) stretches wall-clock time without making validation any slower."""
    start = time.process_time()
    for _ in range(RUNS):
        validate_resource(task, previous)
    return (time.process_time() - start) / RUNS * 1000


def test_referral_task_update_validates_in_well_under_a_millisecond(referral_task: dict[str, Any]) -> None:
    updated = copy.deepcopy(referral_task)
    updated["status"] = "accepted"
    validate_resource(updated, referral_task)  # warm the model and field caches

    best = min(_mean_ms(updated, referral_task) for _ in range(3))  # best of 3: robust to a noisy CI box

    assert best < 1.0, f"{best:.3f} ms per referral Task"


def test_referral_task_create_validates_in_well_under_a_millisecond(referral_task: dict[str, Any]) -> None:
    validate_resource(referral_task)

    best = min(_mean_ms(referral_task, None) for _ in range(3))

    assert best < 1.0, f"{best:.3f} ms per referral Task"
