"""``make bench``: run every bench script in this folder, each in its own subprocess.

A bench script is a ``bench_*.py`` file here that defines a top-level ``main()``; it is found by reading the file
(``ast``), not by importing it, so a broken script cannot break the discovery of the others. Each one runs as
``tests.bench.<name>`` with ``main()`` called once with no arguments (``sys.argv`` holds only the script's path,
so argparse sees its defaults), in a fresh interpreter with the repository as working directory.

Exit status: 0 when every script ran to the end, whatever its figures say — a missed performance target is a
result to read in the output, not a crash — and 1 when any script crashed (an uncaught exception, a signal, an
exit with a message) or ran past its time limit. All scripts run even after one crashed, so one broken bench
does not hide the others' figures.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parents[1]
#: Generous per-script limit: ``make bench`` must end even if a script hangs.
DEFAULT_TIMEOUT_S = 20 * 60

#: Exit codes of the launcher (anything else — a signal, an interpreter failure — is a crash too).
EXIT_COMPLETED = 0
EXIT_REPORTED_MISS = 3  # main() returned / exited with a non-zero number: the script ran and reported a miss
EXIT_CRASHED = 70

# Runs inside the child: import the script as a module (so its ``if __name__ == "__main__"`` block stays
# quiet), call main() once, and turn the way it ended into one of the exit codes above.
_LAUNCHER = f"""
import importlib, sys, traceback
module_name, script = sys.argv[1], sys.argv[2]
sys.argv = [script]
try:
    result = importlib.import_module(module_name).main()
except SystemExit as exc:
    result = exc.code
    if isinstance(result, str):
        print(result, file=sys.stderr)
        sys.exit({EXIT_CRASHED})
except BaseException:
    traceback.print_exc()
    sys.exit({EXIT_CRASHED})
sys.stdout.flush()
ok = result is None or result is True or (type(result) is int and result == 0)  # 1 == True, so no "in"
sys.exit({EXIT_COMPLETED} if ok else {EXIT_REPORTED_MISS})
"""


@dataclass(frozen=True)
class BenchOutcome:
    name: str
    returncode: int
    seconds: float
    timed_out: bool = False

    @property
    def crashed(self) -> bool:
        return self.timed_out or self.returncode not in (EXIT_COMPLETED, EXIT_REPORTED_MISS)

    @property
    def verdict(self) -> str:
        if self.timed_out:
            return "CRASHED (time limit reached, stopped)"
        if self.returncode == EXIT_COMPLETED:
            return "ran"
        if self.returncode == EXIT_REPORTED_MISS:
            return "ran (reported a missed target)"
        if self.returncode < 0:
            return f"CRASHED (signal {-self.returncode})"
        return f"CRASHED (exit {self.returncode})"


def defines_main(path: Path) -> bool:
    """True when the file has a top-level ``def main`` (parsed, not imported)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError):
        return True  # let it run and crash visibly rather than silently skipping a broken bench
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "main" for node in tree.body)


def discover(folder: Path = BENCH_DIR) -> list[Path]:
    """The bench scripts to run, in name order."""
    return [path for path in sorted(folder.glob("bench_*.py")) if defines_main(path)]


def run_script(
    path: Path, timeout_s: float = DEFAULT_TIMEOUT_S, module_prefix: str = "tests.bench", cwd: Path = REPO
) -> BenchOutcome:
    """Run one script's ``main()`` in a subprocess, its output going straight to ours.

    Past the time limit the child gets SIGTERM first (so a bench can stop the servers it started in its
    ``finally`` blocks), then SIGKILL 30 s later.
    """
    module = f"{module_prefix}.{path.stem}"
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-c", _LAUNCHER, module, str(path)], cwd=cwd)
    timed_out = False
    try:
        code = child.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        child.terminate()
        try:
            code = child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
    return BenchOutcome(path.stem, code, time.monotonic() - started, timed_out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every bench_*.py script that defines main().")
    parser.add_argument("names", nargs="*", help="Only these scripts (e.g. bench_fhir_store).")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="Seconds allowed per script.")
    args = parser.parse_args(argv)
    scripts = discover()
    if args.names:
        wanted = {name.removesuffix(".py") for name in args.names}
        unknown = wanted - {p.stem for p in scripts}
        if unknown:
            parser.error(f"no bench script with a main(): {', '.join(sorted(unknown))}")
        scripts = [p for p in scripts if p.stem in wanted]
    outcomes = []
    for path in scripts:
        print(f"\n===== {path.stem} =====", flush=True)
        outcome = run_script(path, args.timeout)
        outcomes.append(outcome)
        print(f"===== {path.stem}: {outcome.verdict} in {outcome.seconds:.0f} s =====", flush=True)
    print("\nbench summary:")
    for outcome in outcomes:
        print(f"  {outcome.name:<32} {outcome.verdict} ({outcome.seconds:.0f} s)")
    crashed = [o.name for o in outcomes if o.crashed]
    if crashed:
        print(f"crashed: {', '.join(crashed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
