"""Tests for the bench machinery: the load generator's HTTP client and counting, run_all's verdicts, and the
FHIR store bench's data set (the benches themselves run under ``make bench``, not here)."""

from __future__ import annotations

import math
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.bench import run_all
from tests.bench.bench_fhir_store import (
    REFERRAL_STATUSES,
    SPREAD_DAYS,
    check_seed_bodies,
    format_table,
    generate_tasks,
    recreate_database,
)
from tests.bench.loadgen import HttpRequest, KeepAliveConnection, percentile, run_load


# ---- load generator ----------------------------------------------------------------------------------------------
def test_percentile_is_nearest_rank_and_nan_when_empty() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 95))


class _ScriptedServer:
    """Answers each request on one connection with the next canned response; counts accepted connections."""

    def __init__(self, responses: list[bytes]) -> None:
        self.responses = responses
        self.accepted = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.sock.accept()
        self.accepted += 1
        with connection:
            buffer = b""
            for response in self.responses:
                while b"\r\n\r\n" not in buffer:
                    buffer += connection.recv(4096)
                buffer = buffer[buffer.index(b"\r\n\r\n") + 4 :]
                connection.sendall(response)

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


def test_keep_alive_connection_reads_length_and_chunked_bodies_on_one_socket() -> None:
    server = _ScriptedServer(
        [
            b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno",
        ]
    )
    connection = KeepAliveConnection("127.0.0.1", server.port, timeout=5)
    try:
        raw = HttpRequest("GET", "/x").encode("127.0.0.1", server.port)
        assert connection.request(raw) == (201, b"hello")
        assert connection.request(raw) == (200, b"abcde")
        assert connection.request(raw) == (404, b"no")
        assert server.accepted == 1
    finally:
        connection.close()
        server.close()


def test_request_encoding_carries_body_length_and_extra_headers() -> None:
    raw = HttpRequest("POST", "/fhir/Task", b'{"a":1}', headers=(("Authorization", "Bearer t"),)).encode("h", 1)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /fhir/Task HTTP/1.1\r\nHost: h:1\r\n")
    assert b"Content-Length: 7" in head
    assert b"Authorization: Bearer t" in head
    assert body == b'{"a":1}'


class _OkOrFail(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status = 200 if self.path == "/ok" else 500
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def ok_or_fail_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OkOrFail)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_run_load_counts_expected_statuses_as_requests_and_others_as_errors(ok_or_fail_server: int) -> None:
    result = run_load(
        "mixed",
        "127.0.0.1",
        ok_or_fail_server,
        [HttpRequest("GET", "/ok"), HttpRequest("GET", "/fail")],
        connections=2,
        processes=1,
        warmup_s=0.2,
        duration_s=0.8,
    )
    assert result.requests > 0
    assert result.errors > 0
    assert result.statuses.get(200) == result.requests
    assert result.statuses.get(500) == result.errors
    assert len(result.latencies_ms) == result.requests
    assert result.throughput == pytest.approx(result.requests / 0.8)
    assert any(sample.startswith("HTTP 500") for sample in result.error_samples)


def test_run_load_only_targets_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        run_load("remote", "192.0.2.1", 80, [HttpRequest("GET", "/")])


# ---- run_all ----------------------------------------------------------------------------------------------------
def test_discover_picks_bench_scripts_that_define_main(tmp_path: Path) -> None:
    (tmp_path / "bench_with_main.py").write_text("def main():\n    return 0\n")
    (tmp_path / "bench_without_main.py").write_text("def run():\n    pass\n")
    (tmp_path / "bench_nested_main.py").write_text("class A:\n    def main(self):\n        pass\n")
    (tmp_path / "helper.py").write_text("def main():\n    pass\n")
    assert [p.name for p in run_all.discover(tmp_path)] == ["bench_with_main.py"]


@pytest.fixture
def bench_package(tmp_path: Path) -> Path:
    package = tmp_path / "fake_benches"
    package.mkdir()
    (package / "bench_ok.py").write_text("def main():\n    print('figures')\n")
    (package / "bench_miss.py").write_text("def main():\n    return 1\n")
    (package / "bench_crash.py").write_text("def main():\n    raise RuntimeError('broken')\n")
    (package / "bench_exit_message.py").write_text("import sys\ndef main():\n    sys.exit('no database')\n")
    (package / "bench_slow.py").write_text("import time\ndef main():\n    time.sleep(30)\n")
    return package


@pytest.mark.parametrize(
    ("script", "crashed"),
    [("bench_ok", False), ("bench_miss", False), ("bench_crash", True), ("bench_exit_message", True)],
)
def test_run_script_fails_only_on_a_crash(bench_package: Path, script: str, crashed: bool) -> None:
    outcome = run_all.run_script(
        bench_package / f"{script}.py", timeout_s=60, module_prefix="fake_benches", cwd=bench_package.parent
    )
    assert outcome.crashed is crashed


def test_run_script_reports_a_missed_target_distinctly(bench_package: Path) -> None:
    outcome = run_all.run_script(
        bench_package / "bench_miss.py", timeout_s=60, module_prefix="fake_benches", cwd=bench_package.parent
    )
    assert outcome.returncode == run_all.EXIT_REPORTED_MISS
    assert "missed" in outcome.verdict


def test_run_script_stops_a_script_past_its_time_limit(bench_package: Path) -> None:
    outcome = run_all.run_script(
        bench_package / "bench_slow.py", timeout_s=1, module_prefix="fake_benches", cwd=bench_package.parent
    )
    assert outcome.timed_out
    assert outcome.crashed
    assert outcome.seconds < 20


# ---- the FHIR store bench's data set ------------------------------------------------------------------------------
def test_every_seeded_status_variant_passes_hub_validation() -> None:
    check_seed_bodies(datetime.now(UTC))  # raises ValidationError otherwise


def test_seeded_tasks_spread_over_owners_statuses_and_thirty_days() -> None:
    now = datetime.now(UTC)
    tasks = list(generate_tasks(3000, owners=20, now=now))
    assert [t.pk for t in tasks] == list(range(1, 3001))
    assert len({t.resource_id for t in tasks}) == 3000
    assert {t.status for t in tasks} == set(REFERRAL_STATUSES)
    assert len({t.owner for t in tasks}) == 20
    assert all(now - timedelta(days=SPREAD_DAYS) <= t.last_updated <= now for t in tasks)
    assert all(t.body["owner"]["reference"] == t.owner and t.body["status"] == t.status for t in tasks)
    assert all(t.body["meta"]["versionId"] == "1" for t in tasks)


def test_seed_is_deterministic() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    first = [(t.resource_id, t.owner, t.status) for t in generate_tasks(50, 5, now)]
    second = [(t.resource_id, t.owner, t.status) for t in generate_tasks(50, 5, now)]
    assert first == second


@pytest.mark.parametrize("name", ["test", "postgres", "template1"])
def test_bench_refuses_to_drop_shared_databases(name: str) -> None:
    with pytest.raises(SystemExit, match="refusing"):
        recreate_database(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")


def _figures(throughput: float, p95: float) -> dict[str, float | int]:
    return {"requests": 10, "throughput_rps": throughput, "p50_ms": 1.0, "p95_ms": p95, "p99_ms": p95}


def test_table_shows_ratio_and_verdicts() -> None:
    table = format_table(
        [
            {
                "title": "(a) Task create",
                "hub": _figures(40.0, 9.0),
                "baseline": _figures(100.0, 3.0),
                "ratio": 0.4,
                "target": "hub >= 35% of bare insert throughput",
                "passed": True,
            },
            {
                "title": "(c) Task search",
                "hub": _figures(10.0, 25.0),
                "baseline": _figures(100.0, 3.0),
                "ratio": 0.1,
                "target": "hub p95 <= 20 ms",
                "passed": False,
                "light": {
                    "connections": 2,
                    "hub": _figures(50.0, 12.0),
                    "baseline": _figures(200.0, 2.0),
                    "passed": True,
                },
            },
        ]
    )
    lines = table.splitlines()
    assert lines[2].split()[-1] == "PASS"
    assert " 0.40 " in lines[2]
    assert lines[3].split()[-1] == "FAIL"
    assert " 0.10 " in lines[3]
    assert "at 2 conns" in lines[4]
    assert lines[4].split()[-1] == "pass"
