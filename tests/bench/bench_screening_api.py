"""Bench: completed AHC HRSN core QuestionnaireResponses POSTed through ``/fhir`` on PostgreSQL, against the bare
insert baseline (issue 4 acceptance: submit + extract + store ≥ 10 % of the bare insert's throughput).

    python -m tests.bench.bench_screening_api [--duration 10] [--workers 2 --threads 4] [--connections 16] …

Each POST is what a clinic's EHR or the staff screening page sends: the store validates the response, the
screening write hook scores it and writes about a dozen resources in the same transaction (one Observation per
answered item, the safety total, the grouping Observation and the proposed Conditions), each with its version
row, search-index rows, compartment grant, Provenance and audit row. The baseline (``baseline_app.py``) inserts
the same JSON body into a two-column table with one statement, under the same gunicorn settings.

Steps: drop and re-create ``REFERRAL_HUB_BENCH_SCREENING_POSTGRES_URL`` (default database
``hub_bench_screening``; refuses ``test`` and the system databases), ``referral-hub db upgrade``, start
``referral-hub serve`` and the baseline, register a program organization and an all-compartments SMART client
with the hub's CLI when the API needs a token, create 50 patients through the API, check one response scores
and extracts, then load each side (keep-alive, closed loop, ``loadgen.py``) and check afterwards that every
stored response was extracted. Prints throughput, p50/p95 and the ratio; writes
``bench-results/screening_api.json``. ``main()`` returns 0 when the target is met and 1 when it is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from questionnaires import get_instrument, score
from tests.bench import bench_fhir_store as store_bench
from tests.bench.baseline_app import DATABASE_URL_ENV, create_schema, make_engine
from tests.bench.loadgen import HttpRequest, KeepAliveConnection, free_port, run_load

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench-results" / "screening_api.json"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_screening"
PG_URL_ENV = "REFERRAL_HUB_BENCH_SCREENING_POSTGRES_URL"
AHC_CORE = "https://referral-hub.example.org/fhir/Questionnaire/ahc-hrsn-core"
BENCH_ORG_SLUG = "bench-screening-program"
BENCH_SCOPES = "system/QuestionnaireResponse.cruds system/Patient.cruds system/Observation.rs"
PATIENTS = 50
RESPONSES = 200
#: Issue 4 acceptance: submit + extract + store through the API ≥ 10 % of the bare insert's throughput.
MIN_RATIO = 0.10
#: Items with a "None of the above" answer that may not be combined (the instrument's rule file).
_EXCLUSIVE = {"/96778-6": "LA9-3"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (hub and baseline alike).")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker.")
    parser.add_argument("--connections", type=int, default=16, help="Concurrent keep-alive connections.")
    parser.add_argument("--load-processes", type=int, default=2, help="Load generator processes.")
    parser.add_argument("--warmup", type=float, default=2.0, help="Warm-up seconds per side.")
    parser.add_argument("--duration", type=float, default=10.0, help="Measured seconds per side.")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="Do not profile a missed target.")
    return parser.parse_args(argv)


# ---- the responses -------------------------------------------------------------------------------------------------
def ahc_response(rng: random.Random, patient_id: str) -> dict[str, Any]:
    """A completed AHC HRSN core response with random answers from each item's own answer list."""
    instrument = get_instrument(AHC_CORE)
    items = []
    for item in instrument.questionnaire["item"]:
        if item.get("readOnly") or item.get("type") != "choice":
            continue
        options = [o["valueCoding"] for o in item["answerOption"]]
        if item.get("repeats"):
            exclusive = _EXCLUSIVE.get(item["linkId"])
            problems = [o for o in options if o["code"] != exclusive]
            chosen = [o for o in options if o["code"] == exclusive] if rng.random() < 0.5 else rng.sample(problems, k=2)
        else:
            chosen = [rng.choice(options)]
        answers = [{"valueCoding": {k: c[k] for k in ("system", "code", "display")}} for c in chosen]
        items.append({"linkId": item["linkId"], "text": item["text"], "answer": answers})
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": instrument.canonical,
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "source": {"reference": f"Patient/{patient_id}"},
        "authored": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "language": "en",
        "item": items,
    }


def check_response_scores(body: dict[str, Any]) -> int:
    """Score one response in-process (with an id, as the store assigns): the bench must time valid input."""
    instrument = get_instrument(AHC_CORE)
    findings = score(dict(body, id="bench-check"), instrument)
    return len(findings.items)


# ---- the hub's API credentials -------------------------------------------------------------------------------------
def register_client(env: dict[str, str]) -> store_bench.ClientCredentials:
    """A program organization and an all-compartments client allowed to write patients and responses."""
    return store_bench.register_bench_client(
        env,
        org_name="Bench Screening Program",
        org_slug=BENCH_ORG_SLUG,
        client_name="Bench screening client",
        scopes=BENCH_SCOPES,
    )


def create_patients(port: int, auth: tuple[tuple[str, str], ...], count: int) -> list[str]:
    connection = KeepAliveConnection("127.0.0.1", port)
    ids = []
    try:
        for index in range(count):
            body = {
                "resourceType": "Patient",
                "identifier": [{"system": "urn:referral-hub:patient", "value": f"bench-{index}"}],
                "name": [{"family": f"Bench{index}", "given": ["Pat"]}],
                "gender": "unknown",
                "birthDate": "1980-01-01",
            }
            request = HttpRequest("POST", "/fhir/Patient", orjson.dumps(body), headers=auth)
            status, answer = connection.request(request.encode("127.0.0.1", port))
            if status != 201:
                raise RuntimeError(f"creating a patient answered {status}: {answer[:300]!r}")
            ids.append(orjson.loads(answer)["id"])
    finally:
        connection.close()
    return ids


def sanity_post(port: int, auth: tuple[tuple[str, str], ...], body: bytes) -> int:
    """POST one response; return how many Observations its extraction stored."""
    connection = KeepAliveConnection("127.0.0.1", port)
    try:
        status, answer = connection.request(
            HttpRequest("POST", "/fhir/QuestionnaireResponse", body, headers=auth).encode("127.0.0.1", port)
        )
        if status != 201:
            raise RuntimeError(f"POST QuestionnaireResponse answered {status}: {answer[:600]!r}")
        qr_id = orjson.loads(answer)["id"]
        path = f"/fhir/Observation?derived-from=QuestionnaireResponse/{qr_id}&_summary=count"
        status, answer = connection.request(HttpRequest("GET", path, headers=auth).encode("127.0.0.1", port))
    finally:
        connection.close()
    if status != 200:
        raise RuntimeError(f"Observation search answered {status}: {answer[:300]!r}")
    return int(orjson.loads(answer).get("total", 0))


def unextracted_responses(pg_url: str) -> tuple[int, int]:
    """(stored completed responses, those without any derived Observation) after the load."""
    with psycopg.connect(store_bench.libpq_url(pg_url)) as conn:
        total = conn.execute(
            "SELECT count(*) FROM fhir_resource WHERE resource_type = 'QuestionnaireResponse'"
        ).fetchone()[0]
        missing = conn.execute(
            """SELECT count(*) FROM fhir_resource q WHERE q.resource_type = 'QuestionnaireResponse'
               AND NOT EXISTS (SELECT 1 FROM fhir_idx_reference r WHERE r.resource_type = 'Observation'
                               AND r.param = 'derived-from' AND r.target_type = 'QuestionnaireResponse'
                               AND r.target_id = q.resource_id)"""
        ).fetchone()[0]
    return int(total), int(missing)


def resources_per_response(pg_url: str) -> float:
    with psycopg.connect(store_bench.libpq_url(pg_url)) as conn:
        rows = dict(conn.execute("SELECT resource_type, count(*) FROM fhir_resource GROUP BY resource_type").fetchall())
    responses = rows.get("QuestionnaireResponse", 0)
    written = sum(v for k, v in rows.items() if k in ("QuestionnaireResponse", "Observation", "Condition"))
    return round(written / responses, 1) if responses else 0.0


# ---- profiling a miss ----------------------------------------------------------------------------------------------
def profile_in_process(pg_url: str, bodies: list[dict[str, Any]], count: int = 20) -> str:
    """cProfile of ``count`` response writes through ``ResourceStore.create`` (the API's write path without HTTP),
    one commit each, on the bench database: where the time of one screening submission goes."""
    import cProfile
    import io
    import pstats

    from referral_hub.app import create_app
    from referral_hub.extensions import db
    from referral_hub.fhir.store import ResourceStore
    from referral_hub.security.principal import SYSTEM, set_current_principal

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": pg_url, "BASE_URL": "http://localhost", "REDIS_URL": None},
        environ={"REFERRAL_HUB_ENV": "testing"},
    )
    with app.test_request_context():
        set_current_principal(SYSTEM)
        store = ResourceStore(db.session, (app.config["FHIR_BASE_URL"],))
        store.create(bodies[0])
        db.session.commit()
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for body in bodies[1 : count + 1]:
            store.create(body)
            db.session.commit()
        profiler.disable()
        elapsed = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    return f"{count} responses in-process: {elapsed / count * 1000:.1f} ms each\n{out.getvalue()}"


# ---- the run -------------------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    load_before = os.getloadavg()
    settings = dataclasses.replace(
        store_bench.parse_args([]),
        pg_url=args.pg_url,
        workers=args.workers,
        threads=args.threads,
        connections=args.connections,
        load_processes=args.load_processes,
        warmup_s=args.warmup,
        duration_s=args.duration,
        authorization=None,
        output=args.output,
    )
    hub_port, base_port = free_port(), free_port()
    while base_port == hub_port:
        base_port = free_port()
    env = store_bench.hub_environment(settings, f"http://127.0.0.1:{hub_port}")
    print(f"bench database {args.pg_url.rsplit('/', 1)[-1]}: re-creating", flush=True)
    store_bench.recreate_database(args.pg_url)
    store_bench.upgrade_schema(env)
    engine = make_engine(args.pg_url)
    create_schema(engine)
    engine.dispose()

    log_dir = args.output.parent
    hub_cmd = [
        store_bench.hub_cli(), "serve", "--host", "127.0.0.1", "--port", str(hub_port),
        "--workers", str(args.workers), "--threads", str(args.threads),
    ]  # fmt: skip
    base_cmd = [
        sys.executable, "-m", "tests.bench.baseline_app", "--host", "127.0.0.1", "--port", str(base_port),
        "--workers", str(args.workers), "--threads", str(args.threads),
    ]  # fmt: skip
    hub = store_bench.Server("referral-hub serve", hub_cmd, env, hub_port, log_dir / "screening_api-hub.log")
    baseline = store_bench.Server(
        "baseline app", base_cmd, {**env, DATABASE_URL_ENV: args.pg_url}, base_port, log_dir / "screening_api-base.log"
    )
    rng = random.Random(4)
    load = {
        "connections": args.connections,
        "processes": args.load_processes,
        "warmup_s": args.warmup,
        "duration_s": args.duration,
    }
    try:
        hub.wait_healthy()
        baseline.wait_healthy()
        auth: tuple[tuple[str, str], ...] = ()
        if store_bench.api_requires_token(hub_port):
            credentials = register_client(env)
            auth = (("Authorization", store_bench.fetch_token(hub_port, credentials, BENCH_SCOPES)),)
            print("the FHIR API requires a token: registered a bench client (program organization)", flush=True)
        patients = create_patients(hub_port, auth, PATIENTS)
        bodies = [ahc_response(rng, rng.choice(patients)) for _ in range(RESPONSES)]
        items = check_response_scores(bodies[0])
        observations = sanity_post(hub_port, auth, orjson.dumps(bodies[0]))
        if observations < items:
            raise RuntimeError(f"a stored response produced {observations} Observations for {items} items")
        print(f"one response: {items} answered items → {observations} Observations (sanity check)", flush=True)
        hub_requests = [
            HttpRequest("POST", "/fhir/QuestionnaireResponse", orjson.dumps(b), headers=auth) for b in bodies
        ]
        base_requests = [
            HttpRequest("POST", "/rows", orjson.dumps(b), content_type="application/json", accept="application/json")
            for b in bodies
        ]
        hub_result = run_load(
            "hub POST QuestionnaireResponse", "127.0.0.1", hub_port, hub_requests, expect=(201,), seed=7, **load
        )
        base_result = run_load(
            "baseline POST /rows", "127.0.0.1", base_port, base_requests, expect=(201,), seed=7, **load
        )
    finally:
        hub.stop()
        baseline.stop()
    total, missing = unextracted_responses(args.pg_url)
    ratio = hub_result.throughput / base_result.throughput if base_result.throughput else 0.0
    passed = hub_result.errors == 0 and missing == 0 and ratio >= MIN_RATIO
    profile = "" if passed or not args.profile else profile_in_process(args.pg_url, bodies)
    return {
        "bench": "screening_api",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": store_bench.machine_info(),
        "postgres": store_bench.postgres_info(args.pg_url),
        "servers": {"workers": args.workers, "threads": args.threads, "hub_auth": "bearer token" if auth else "none"},
        "load": {**load, "keep_alive": True},
        "hub": hub_result.summary(),
        "baseline": base_result.summary(),
        "ratio": round(ratio, 3),
        "target": f"hub >= {MIN_RATIO:.0%} of bare insert throughput",
        "passed": passed,
        "stored_responses": total,
        "responses_without_extraction": missing,
        "resources_per_response": resources_per_response(args.pg_url),
        "error_samples": hub_result.error_samples[:5],
        "profile": profile,
        "wall_seconds": round(time.monotonic() - started, 1),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    hub, base = results["hub"], results["baseline"]
    print()
    print(
        f"Screening API bench — PostgreSQL {results['postgres']['version']}, {results['machine']['cpus']} CPUs; "
        f"gunicorn {args.workers} workers x {args.threads} threads; {args.connections} keep-alive connections, "
        f"{args.warmup:g} s warm-up + {args.duration:g} s per side"
    )
    print(f"{'side':<44} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    for label, row in (
        ("hub POST /fhir/QuestionnaireResponse (AHC core)", hub),
        ("baseline POST /rows (one INSERT)", base),
    ):
        print(
            f"{label:<44} {row['requests']:>8} {row['throughput_rps']:>8.1f} {row['p50_ms']:>8} {row['p95_ms']:>8} "
            f"{row['errors']:>7}"
        )
    print(
        f"ratio {results['ratio']:.3f} (target >= {MIN_RATIO:.2f}) {'PASS' if results['passed'] else 'FAIL'}; "
        f"{results['resources_per_response']} resources stored per response; "
        f"{results['responses_without_extraction']} of {results['stored_responses']} responses not extracted"
    )
    for sample in results["error_samples"]:
        print(f"  error sample: {sample}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    profile = results.pop("profile")
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    if profile:
        profile_path = args.output.with_name(args.output.stem + "_profile.txt")
        profile_path.write_text(profile)
        print(f"the target was missed: where the time goes in {profile_path.name}")
        print("\n".join(profile.splitlines()[:30]))
    print(f"results: {args.output}")
    print(f"screening_api bench took {results['wall_seconds']:.0f} s")
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
