"""Bulk loading of FHIR JSON files (``referral-hub fhir load DIR``).

Files may hold single resources or Bundles and may come in any order: the store does not require references to
resolve at write time, so a folder of examples loads regardless of dependency order. Resources keep their ids
(update-as-create), so loading the same folder twice updates instead of duplicating. The whole load is one
transaction: either every file is stored or, on any invalid file, nothing is, and each failure is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from referral_hub.fhir.outcomes import FhirError
from referral_hub.fhir.store import ResourceStore


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _resources_in(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict) or "resourceType" not in document:
        return []
    if document["resourceType"] == "Bundle" and document.get("type") != "document":
        return [
            e["resource"]
            for e in document.get("entry") or []
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]
    return [document]


def load_directory(store: ResourceStore, directory: Path) -> LoadReport:
    """Store every resource found in ``directory/*.json`` (not recursive). The caller commits on success."""
    report = LoadReport()
    for path in sorted(directory.glob("*.json")):
        try:
            document = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            report.errors.append(f"{path.name}: not JSON ({exc})")
            continue
        resources = _resources_in(document)
        if not resources:
            report.skipped.append(path.name)
            continue
        for resource in resources:
            try:
                if isinstance(resource.get("id"), str):
                    result = store.update(resource["resourceType"], resource["id"], resource, workflow=False)
                else:
                    result = store.create(resource, workflow=False)
            except FhirError as exc:
                details = "; ".join(
                    f"{issue.expression or '-'}: {issue.diagnostics}"
                    for issue in exc.issues
                    if issue.severity != "warning"
                )
                report.errors.append(f"{path.name}: {details}")
                continue
            if result.created:
                report.created += 1
            else:
                report.updated += 1
    return report
