"""A small closed-loop HTTP/1.1 load generator for the benches (loopback only).

Why not ``requests`` or ``httpx``: on a 2-core machine the generator shares the CPU with the server under test,
so every microsecond the client spends is taken from the server. ``requests`` costs roughly 0.3–0.5 ms of CPU
per call (header objects, cookie jars, urllib3 pools); this client sends pre-built request bytes over a
keep-alive socket and parses only the status line, ``Content-Length``/``Transfer-Encoding`` and ``Connection``,
which is a few tens of microseconds. :func:`measure_ceiling` runs it against a canned-response server so the
report can show whether the generator, rather than the server, was the limit.

Model: ``processes`` × ``threads_per_process`` connections, each sending its next request as soon as the
previous answer is read (closed loop, no pipelining). All workers share one clock (``time.monotonic`` is
system-wide on Linux): requests *started* during the warm-up are not recorded, and a request counts only if it
started and finished inside the measurement window, so throughput = counted requests / window length.
Every loop ends at the window's end (plus the socket timeout for a request in flight), so nothing runs forever.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import random
import socket
import threading
import time
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: Seconds a single request may take before the connection is dropped and the request counted as an error.
SOCKET_TIMEOUT_S = 30.0
_MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpRequest:
    """One request the generator may send; bodies are sent as-is with ``Content-Length``."""

    method: str
    path: str
    body: bytes | None = None
    content_type: str = "application/fhir+json"
    accept: str = "application/fhir+json"
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, host: str, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}:{port}", f"Accept: {self.accept}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body is not None:
            lines += [f"Content-Type: {self.content_type}", f"Content-Length: {len(self.body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (self.body or b"")


@dataclass
class LoadResult:
    """What one run measured. Latencies are in milliseconds, one per counted request."""

    label: str
    connections: int
    duration_s: float
    latencies_ms: list[float]
    errors: int
    statuses: dict[int, int]
    error_samples: list[str]
    generator_cpu_s: float
    generator_wall_s: float
    sorted_latencies: list[float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.sorted_latencies = sorted(self.latencies_ms)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        """Successful requests per second over the measurement window."""
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def generator_cpu_share(self) -> float:
        """CPU time the generator used per wall second (1.0 = one full core)."""
        return self.generator_cpu_s / self.generator_wall_s if self.generator_wall_s > 0 else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.sorted_latencies, p)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "duration_s": round(self.duration_s, 3),
            "connections": self.connections,
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": _round(self.percentile(50)),
            "p95_ms": _round(self.percentile(95)),
            "p99_ms": _round(self.percentile(99)),
            "max_ms": _round(self.sorted_latencies[-1] if self.sorted_latencies else math.nan),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "error_samples": self.error_samples,
            "generator_cpu_share": round(self.generator_cpu_share, 3),
        }


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 2)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (the value at or below which ``p``% of the samples fall); NaN when empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class HttpError(Exception):
    """The server's answer could not be read as HTTP/1.1."""


class KeepAliveConnection:
    """A minimal blocking HTTP/1.1 client connection with keep-alive (one request at a time)."""

    def __init__(self, host: str, port: int, timeout: float = SOCKET_TIMEOUT_S) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self._buffer = b""

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock, self._buffer = None, b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._buffer = sock, b""
        return sock

    def _fill(self, sock: socket.socket) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise HttpError("connection closed by the server")
        self._buffer += chunk

    def _read_line(self, sock: socket.socket) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            self._fill(sock)
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        return line

    def _read_exact(self, sock: socket.socket, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill(sock)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one pre-encoded request and read the whole answer. :returns: (status, body)."""
        sock = self._sock or self._connect()
        try:
            sock.sendall(raw)
            while (end := self._buffer.find(b"\r\n\r\n")) < 0:
                if len(self._buffer) > _MAX_HEADER_BYTES:
                    raise HttpError("response headers too large")
                self._fill(sock)
            head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
            status_line, *header_lines = head.split(b"\r\n")
            parts = status_line.split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
                raise HttpError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
            status = int(parts[1])
            length, chunked, close = None, False, parts[0] == b"HTTP/1.0"
            for line in header_lines:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip())
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
            if chunked:
                body = self._read_chunked(sock)
            elif length is not None:
                body = self._read_exact(sock, length)
            elif status in (204, 304) or 100 <= status < 200:
                body = b""
            else:  # no framing: the body runs to the end of the connection
                body, close = self._read_to_close(sock), True
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, body

    def _read_chunked(self, sock: socket.socket) -> bytes:
        body = bytearray()
        while True:
            size = int(self._read_line(sock).split(b";")[0].strip(), 16)
            if size == 0:
                while self._read_line(sock):  # trailers end with an empty line
                    pass
                return bytes(body)
            body += self._read_exact(sock, size)
            self._read_line(sock)

    def _read_to_close(self, sock: socket.socket) -> bytes:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                data, self._buffer = self._buffer, b""
                return data
            self._buffer += chunk


# ---- the worker side ------------------------------------------------------------------------------------------
def _connection_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    expect: frozenset[int],
    seed: int,
    record_from: float,
    end: float,
    out: dict[str, Any],
) -> None:
    rng = random.Random(seed)
    connection = KeepAliveConnection(host, port)
    latencies = array("d")
    statuses: Counter[int] = Counter()
    errors = 0
    samples: list[str] = []
    count = len(requests)
    clock = time.monotonic
    try:
        while True:
            started = clock()
            if started >= end:
                break
            raw = requests[rng.randrange(count)] if count > 1 else requests[0]
            try:
                status, body = connection.request(raw)
            except (OSError, HttpError, ValueError) as exc:
                if started >= record_from:
                    errors += 1
                    if len(samples) < 3:
                        samples.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.01)  # the server refused or dropped us: do not spin
                continue
            finished = clock()
            if started < record_from or finished > end:
                continue
            statuses[status] += 1
            if status in expect:
                latencies.append((finished - started) * 1000.0)
            else:
                errors += 1
                if len(samples) < 3:
                    samples.append(f"HTTP {status}: {body[:300].decode('utf-8', 'replace')}")
    finally:
        connection.close()
    out.update(latencies=latencies, statuses=statuses, errors=errors, samples=samples)


def _worker_process(
    host: str,
    port: int,
    requests: Sequence[bytes],
    expect: frozenset[int],
    threads: int,
    seed: int,
    start: Any,
    warmup_s: float,
    duration_s: float,
    results: Any,
) -> None:
    """One generator process: ``threads`` connections; sends its merged figures back through ``results``.

    Reports "ready" first and waits for the parent's start signal, so a slow interpreter start (spawn
    re-imports the parent's main module) cannot eat into the window.
    """
    results.put("ready")
    if not start.wait(120):
        raise RuntimeError("the load generator was never told to start")
    start_at = start.value
    time.sleep(max(0.0, start_at - time.monotonic()))
    cpu_started = time.process_time()
    wall_started = time.monotonic()
    record_from = start_at + warmup_s
    end = record_from + duration_s
    outs: list[dict[str, Any]] = [{} for _ in range(threads)]
    workers = [
        threading.Thread(
            target=_connection_loop,
            args=(host, port, requests, expect, seed * 1000 + index, record_from, end, outs[index]),
            daemon=True,
        )
        for index in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    latencies = array("d")
    statuses: Counter[int] = Counter()
    errors, samples = 0, []
    for out in outs:
        latencies.extend(out.get("latencies", ()))
        statuses.update(out.get("statuses", {}))
        errors += out.get("errors", 1)  # a thread that died without reporting counts as an error
        samples.extend(out.get("samples", ()))
    results.put(
        {
            "latencies": latencies.tobytes(),
            "statuses": dict(statuses),
            "errors": errors,
            "samples": samples[:5],
            "cpu_s": time.process_time() - cpu_started,
            "wall_s": time.monotonic() - wall_started,
        }
    )


class _StartSignal:
    """A start time shared with the worker processes, published together with an event."""

    def __init__(self, context: Any) -> None:
        self._value = context.Value("d", 0.0, lock=False)
        self._event = context.Event()

    @property
    def value(self) -> float:
        return float(self._value.value)

    def fire(self, start_at: float) -> None:
        self._value.value = start_at
        self._event.set()

    def wait(self, timeout: float) -> bool:
        return bool(self._event.wait(timeout))


def run_load(
    label: str,
    host: str,
    port: int,
    requests: Sequence[HttpRequest],
    *,
    connections: int = 16,
    processes: int = 2,
    warmup_s: float = 2.0,
    duration_s: float = 10.0,
    expect: Sequence[int] = (200,),
    seed: int = 1,
) -> LoadResult:
    """Drive ``host:port`` with ``connections`` keep-alive connections picking requests at random.

    :param requests: the request pool; each request picks one uniformly (seeded, so runs repeat).
    :param expect: status codes that count as success; anything else is an error (and not in the latencies).
    """
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the bench load generator only targets loopback addresses")
    if not requests:
        raise ValueError("no requests to send")
    processes = max(1, min(processes, connections))
    encoded = [r.encode(host, port) for r in requests]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = _StartSignal(context)
    per_process = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    workers = [
        context.Process(
            target=_worker_process,
            args=(
                host,
                port,
                encoded,
                frozenset(expect),
                threads,
                seed * 100 + index,
                start,
                warmup_s,
                duration_s,
                results,
            ),
            daemon=True,
        )
        for index, threads in enumerate(per_process)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        if results.get(timeout=120) != "ready":
            raise RuntimeError("unexpected message from a load generator process")
    start_at = time.monotonic() + 0.2
    start.fire(start_at)
    deadline = start_at + warmup_s + duration_s + SOCKET_TIMEOUT_S + 30
    parts = []
    for _ in workers:
        parts.append(results.get(timeout=max(1.0, deadline - time.monotonic())))
    for worker in workers:
        worker.join(timeout=10)
        if worker.is_alive():
            worker.kill()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    for part in parts:
        values = array("d")
        values.frombytes(part["latencies"])
        latencies.extend(values)
        statuses.update(part["statuses"])
    return LoadResult(
        label=label,
        connections=connections,
        duration_s=duration_s,
        latencies_ms=latencies,
        errors=sum(p["errors"] for p in parts),
        statuses=dict(statuses),
        error_samples=[s for p in parts for s in p["samples"]][:5],
        generator_cpu_s=sum(p["cpu_s"] for p in parts),
        generator_wall_s=max(p["wall_s"] for p in parts),
    )


# ---- the generator's own ceiling ----------------------------------------------------------------------------------
_CANNED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n"
    b'Connection: keep-alive\r\n\r\n{"status":"ok"}'
)


class _CannedResponder(asyncio.Protocol):
    """Answers every request (one per ``\\r\\n\\r\\n``; the ceiling run sends GETs only) with the same bytes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.pending = b""

    def data_received(self, data: bytes) -> None:
        self.pending += data
        answers = self.pending.count(b"\r\n\r\n")
        if answers:
            self.pending = self.pending[self.pending.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(_CANNED * answers)


def _serve_canned(port: int, ready: Any, stop_after_s: float) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_CannedResponder, "127.0.0.1", port, backlog=256)
        ready.set()
        async with server:
            await asyncio.sleep(stop_after_s)

    asyncio.run(main())


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure_ceiling(
    *, connections: int = 16, processes: int = 2, warmup_s: float = 1.0, duration_s: float = 5.0
) -> LoadResult:
    """Throughput of the generator against a server that does nothing but write a canned answer (asyncio, one
    process). If a scenario's throughput comes close to this figure, the generator — not the app — was the
    bottleneck."""
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    port = free_port()
    server = context.Process(target=_serve_canned, args=(port, ready, warmup_s + duration_s + 60), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the canned-response server did not start")
        return run_load(
            "generator ceiling (canned response)",
            "127.0.0.1",
            port,
            [HttpRequest("GET", "/ping")],
            connections=connections,
            processes=processes,
            warmup_s=warmup_s,
            duration_s=duration_s,
        )
    finally:
        server.kill()
        server.join(5)
