"""Bench: scoring + extraction of AHC HRSN core responses, in process (issue 4: target >= 2,000/s).

Run with ``python -m tests.bench.bench_extraction`` (or ``make bench``). Prints one line per mode with
responses per second; ``--workers N`` also measures N processes in parallel (the target is for 2 cores).
Responses are generated from a fixed seed over every answer option, so runs are comparable.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import questionnaires

CORE_URL = "https://referral-hub.example.org/fhir/Questionnaire/ahc-hrsn-core"
TARGET_PER_SECOND = 2000


def make_responses(count: int, seed: int = 20260105) -> list[dict[str, Any]]:
    """Varied completed AHC core responses (multi-select, declined items, all answer options)."""
    instrument = questionnaires.get_instrument(CORE_URL)
    rng = random.Random(seed)
    responses = []
    for n in range(count):
        items = []
        for link_id, item in instrument.items.items():
            if item.read_only:
                continue
            codes = [key[2] for key in item.options]
            if rng.random() < 0.03:
                items.append({"linkId": link_id})  # asked, declined
                continue
            if item.repeats:
                problems = [c for c in codes if c != "LA9-3"]
                chosen = rng.sample(problems, rng.randint(0, 3)) or ["LA9-3"]
            else:
                chosen = [rng.choice(codes)]
            answers = [{"valueCoding": {"system": "http://loinc.org", "code": c}} for c in chosen]
            items.append({"linkId": link_id, "answer": answers})
        responses.append(
            {
                "resourceType": "QuestionnaireResponse",
                "id": f"bench-{n}",
                "questionnaire": instrument.canonical,
                "status": "completed",
                "subject": {"reference": f"Patient/p{n}"},
                "authored": "2026-01-05T15:00:00Z",
                "source": {"reference": f"Patient/p{n}"},
                "item": items,
            }
        )
    return responses


def run(count: int) -> tuple[int, float, int]:
    """Score and extract ``count`` responses; return (responses, seconds, resources produced)."""
    responses = make_responses(count)
    instrument = questionnaires.get_instrument(CORE_URL)
    questionnaires.extract(responses[0], instrument)  # warm caches
    produced = 0
    start = time.perf_counter()
    for qr in responses:
        produced += len(questionnaires.extract(qr, instrument).resources)
    return count, time.perf_counter() - start, produced


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    count, seconds, produced = run(args.responses)
    single = count / seconds
    print(
        f"questionnaires extraction, 1 process: {single:,.0f} AHC core responses/s "
        f"({produced / count:.1f} resources each; target {TARGET_PER_SECOND:,}/s)"
    )
    if args.workers > 1:
        per_worker = args.responses // args.workers
        start = time.perf_counter()
        with ProcessPoolExecutor(args.workers) as pool:
            done = sum(r[0] for r in pool.map(run, [per_worker] * args.workers))
        # wall time includes worker start-up and response generation: a conservative figure
        wall = time.perf_counter() - start
        print(f"questionnaires extraction, {args.workers} processes: {done / wall:,.0f} responses/s (wall clock)")
    return 0 if single >= TARGET_PER_SECOND else 1


if __name__ == "__main__":
    raise SystemExit(main())
