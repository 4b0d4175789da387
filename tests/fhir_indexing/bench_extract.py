"""Measure index extraction per resource: fhirpathpy (pre-compiled) versus ``extract_index``.

Run: ``.venv/bin/python -m tests.fhir_indexing.bench_extract``. Not a test (timings vary by machine); the
figures it prints back the decision recorded in ``referral_hub/fhir/indexer.py``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from referral_hub.fhir.indexer import extract_index
from referral_hub.fhir.search_params import COLUMN_PARAMS, params_for
from tests.fhir_indexing.ig_examples import load_example

SAMPLES = {
    "referral Task (completed)": "Task-SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample",
    "screening Observation (HVS Q3)": "Observation-SDOHCC-ObservationResponseHungerVitalSignQuestion3Example",
    "race Observation (components)": "Observation-SDOHCC-ObservationRaceOMBExample",
    "Patient": "Patient-pat-53234",
}
_RESOLVE = re.compile(r"\.where\(resolve\(\) is (\w+)\)")


def _per_call(function: Callable[[], Any], runs: int) -> float:
    function()
    started = time.perf_counter()
    for _ in range(runs):
        function()
    return (time.perf_counter() - started) / runs


def _fhirpathpy_evaluator(resource_type: str) -> Callable[[dict[str, Any]], list[Any]] | None:
    try:
        from fhirpathpy import compile as fhirpath_compile
        from fhirpathpy.models import models
    except ImportError:
        return None
    compiled = []
    for code, param in params_for(resource_type).items():
        if code in COLUMN_PARAMS:
            continue
        # fhirpathpy has no resolve(); the closest equivalent filters on the literal reference.
        expression = _RESOLVE.sub(r".where(reference.contains('\1/'))", param.expression)
        compiled.append(fhirpath_compile(expression, model=models["r4"]))

    def evaluate(resource: dict[str, Any]) -> list[Any]:
        results: list[Any] = []
        for function in compiled:
            try:
                results.append(function(resource))
            except ValueError as error:  # e.g. "Expected singleton on left side of 'as'" for R4's own expressions
                results.append(error)
        return results

    return evaluate


def main() -> None:
    for label, stem in SAMPLES.items():
        resource = load_example(stem)
        lite = _per_call(lambda resource=resource: extract_index(resource), 2000)
        line = f"{label:34s} extract_index {lite * 1e6:7.1f} µs ({len(extract_index(resource))} values)"
        evaluate = _fhirpathpy_evaluator(resource["resourceType"])
        if evaluate is not None:
            slow = _per_call(lambda resource=resource, evaluate=evaluate: evaluate(resource), 100)
            errors = sum(isinstance(result, ValueError) for result in evaluate(resource))
            line += f"   fhirpathpy evaluation only {slow * 1e6:8.1f} µs"
            line += f" ({errors} expressions raised)" if errors else ""
        print(line)


if __name__ == "__main__":
    main()
