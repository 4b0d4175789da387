"""Translation catalog maintenance: ``extract``, ``update``, ``compile`` (called by ``make translations``).

Usage: ``python -m referral_hub.i18n_tools extract|update|compile|all``. Uses the ``pybabel`` of the running
interpreter's environment through ``subprocess.run([...], check=True)`` (never a shell string), with the extraction
map in ``babel.cfg`` at the repository root.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from referral_hub.i18n import LANGUAGES, TRANSLATIONS_DIR, compile_catalogs

REPO_ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = REPO_ROOT / "babel.cfg"
POT_FILE = TRANSLATIONS_DIR / "messages.pot"


def _pybabel(*args: str) -> None:
    executable = Path(sys.executable).with_name("pybabel")
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "babel.messages.frontend"]
    subprocess.run([*command, *args], check=True, cwd=REPO_ROOT)  # noqa: S603 (fixed argument list, no shell)


def extract() -> None:
    """Collect every marked string (``_``, ``_l``, ``ngettext``, ``{% trans %}``) into ``messages.pot``."""
    _pybabel(
        "extract",
        "--mapping-file",
        str(BABEL_CFG),
        "--keywords",
        "_l",
        "--add-comments",
        "TRANSLATORS:",
        "--sort-by-file",
        "--no-wrap",
        "--project",
        "referral-hub",
        "--output-file",
        str(POT_FILE),
        ".",  # babel.cfg patterns are relative to this directory (the repository root)
    )


def update() -> None:
    """Merge ``messages.pot`` into every language's ``messages.po`` (new catalogs are initialised)."""
    for code in LANGUAGES:
        po_file = TRANSLATIONS_DIR / code / "LC_MESSAGES" / "messages.po"
        action = "update" if po_file.exists() else "init"
        args = [action, "--input-file", str(POT_FILE), "--output-dir", str(TRANSLATIONS_DIR), "--locale", code]
        if action == "update":
            args += ["--no-wrap", "--ignore-obsolete"]
        else:
            args += ["--no-wrap"]
        _pybabel(*args)


def compile_all() -> None:
    """Compile every catalog (even when the ``.mo`` looks fresh)."""
    written = compile_catalogs(force=True)
    print(f"compiled {len(written)} catalogs")


COMMANDS = {"extract": extract, "update": update, "compile": compile_all}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    names = list(COMMANDS) if args in ([], ["all"]) else args
    unknown = [n for n in names if n not in COMMANDS]
    if unknown:
        print(f"unknown command(s): {', '.join(unknown)}; use extract, update, compile or all", file=sys.stderr)
        return 2
    for name in names:
        COMMANDS[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
