"""Copy the parts of a U.S. Web Design System npm package the hub uses into ``static/vendor/uswds/``.

Usage (from the repository root)::

    cd /tmp && npm pack @uswds/uswds@<version> && tar xzf uswds-uswds-<version>.tgz
    python referral_hub/static/vendor/update_uswds.py /tmp/package

Only the compiled CSS/JS, the licence, and the fonts and images ``uswds.min.css`` actually references are copied
(the full package is ~20 MB; this keeps the vendored copy well under 3 MB). TrueType/WOFF fallbacks are dropped:
every browser the hub supports reads WOFF2.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parent / "uswds"
_URL = re.compile(r"url\((?:\"|')?(\.\./[^)\"']+)(?:\"|')?\)")
#: Referenced by the CSS but unused by the hub's templates (a 150 kB hero photograph).
SKIP = {"img/hero.jpg"}


def copy_package(package: Path) -> list[str]:
    dist = package / "dist"
    if TARGET.exists():
        shutil.rmtree(TARGET)
    copied = []
    for relative in ("css/uswds.min.css", "js/uswds.min.js", "js/uswds-init.min.js"):
        (TARGET / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dist / relative, TARGET / relative)
        copied.append(relative)
    css = (dist / "css/uswds.min.css").read_text(encoding="utf-8")
    for url in sorted(set(_URL.findall(css))):
        relative = url.removeprefix("../")
        if relative in SKIP:
            continue
        (TARGET / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dist / relative, TARGET / relative)
        copied.append(relative)
    shutil.copy2(package / "LICENSE.md", TARGET / "LICENSE.md")
    version = json.loads((package / "package.json").read_text())["version"]
    (TARGET / "VERSION").write_text(version + "\n")
    return copied


if __name__ == "__main__":
    files = copy_package(Path(sys.argv[1]))
    print(f"copied {len(files)} files into {TARGET}")
