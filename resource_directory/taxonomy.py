"""Open Eligibility taxonomy loader and the Gravity SDOH category -> taxonomy term crosswalk.

Why Open Eligibility: it is the open (CC BY-SA 3.0) taxonomy that covers both human *services* and human
*situations* (eligibility/audience), so it can ship with the hub; the 211 HSIS taxonomy is subscription-licensed
and may only be loaded by a licensed customer (market-and-hsds.md §B.8). Customers load other taxonomies as
ordinary HSDS ``taxonomy``/``taxonomy_term`` rows through ``import_path``.

Why a crosswalk file: screening yields Gravity SDOH categories (``food-insecurity``, gravity-sdoh-cc.md §7.1),
staff search "by need", and services are indexed with taxonomy terms. ``data/sdoh-category-crosswalk.csv``
(reviewable by clinicians without reading code) maps each of the 23 categories to Open Eligibility terms,
following market-and-hsds.md §B.9; column ``b9_source`` keeps the §B.9 (Ohana ``oe.json``) id each row comes from.
"""

from __future__ import annotations

import csv
import uuid
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from resource_directory.importer import Record, load_records
from resource_directory.models import TaxonomyTerm
from resource_directory.report import ImportReport, RowIssue

DATA = Path(__file__).parent / "data"
OPEN_ELIGIBILITY_CSV = DATA / "open-eligibility" / "open_eligibility_taxonomy_v2.csv"
CROSSWALK_CSV = DATA / "sdoh-category-crosswalk.csv"

# Stable ids: re-loading the taxonomy (or loading it in another hub) yields the same UUIDs, so attributes and
# exports stay valid. uuid5 in a namespace owned by this project.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/referral-hub/resource_directory")
OPEN_ELIGIBILITY_KEY = "open-eligibility-2014"
OPEN_ELIGIBILITY_TAXONOMY_ID = str(uuid.uuid5(ID_NAMESPACE, f"taxonomy:{OPEN_ELIGIBILITY_KEY}"))

# The 23 codes of SDOHCC-ValueSetSDOHCategory (gravity-sdoh-cc.md §7.1).
SDOH_CATEGORIES: tuple[str, ...] = (
    "sdoh-category-unspecified",
    "food-insecurity",
    "housing-instability",
    "homelessness",
    "inadequate-housing",
    "transportation-insecurity",
    "financial-insecurity",
    "material-hardship",
    "educational-attainment",
    "employment-status",
    "veteran-status",
    "stress",
    "social-connection",
    "intimate-partner-violence",
    "elder-abuse",
    "personal-health-literacy",
    "health-insurance-coverage-status",
    "medical-cost-burden",
    "digital-literacy",
    "digital-access",
    "utility-insecurity",
    "incarceration-status",
    "language-access",
)


def open_eligibility_term_id(code: str) -> str:
    """The directory id of an Open Eligibility 2014 term (``code`` as in the CSV, e.g. ``"1130"``)."""
    return str(uuid.uuid5(ID_NAMESPACE, f"term:{OPEN_ELIGIBILITY_KEY}:{code}"))


def open_eligibility_records() -> tuple[list[Record], list[RowIssue]]:
    """The bundled Open Eligibility taxonomy as HSDS records (taxonomy + terms with parents), plus notes.

    Empty upstream descriptions are filled with the term title (HSDS requires a description). Mapping files
    that link to Open Eligibility terms include these records so that a feed loads on its own.
    """
    warnings: list[RowIssue] = []
    records = [
        Record(
            "taxonomy",
            {
                "id": OPEN_ELIGIBILITY_TAXONOMY_ID,
                "name": "Open Eligibility",
                "description": "Open Eligibility Human Services Taxonomy v2 (2014): human services and human "
                "situations. CC BY-SA 3.0, Aunt Bertha, Inc. (now findhelp).",
                "uri": "https://github.com/auntbertha/openeligibility",
                "version": "2.0",
            },
            OPEN_ELIGIBILITY_CSV.name,
        )
    ]
    seen: set[str] = set()
    with OPEN_ELIGIBILITY_CSV.open(encoding="utf-8", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            code = row["id"].strip()
            if code in seen:  # upstream defect: 1206 appears twice (see data/open-eligibility/NOTICE.md)
                warnings.append(
                    RowIssue(
                        OPEN_ELIGIBILITY_CSV.name,
                        line,
                        "taxonomy_term",
                        code,
                        "id",
                        "duplicate upstream id; kept the first",
                    )
                )
                continue
            seen.add(code)
            parent = row["parent_id"].strip()
            records.append(
                Record(
                    "taxonomy_term",
                    {
                        "id": open_eligibility_term_id(code),
                        "code": code,
                        "name": row["title"].strip(),
                        "description": row["description"].strip() or row["title"].strip(),
                        "parent_id": open_eligibility_term_id(parent) if parent and parent != code else None,
                        "taxonomy": "Open Eligibility",
                        "taxonomy_id": OPEN_ELIGIBILITY_TAXONOMY_ID,
                        "language": "en",
                    },
                    OPEN_ELIGIBILITY_CSV.name,
                    row=line,
                )
            )
    return records, warnings


def load_open_eligibility(session: Session, *, commit: bool = True) -> ImportReport:
    """Load (or refresh) the bundled Open Eligibility taxonomy, terms with their parents. Idempotent.

    Goes through the same validating upsert as every import, so a refresh writes ``metadata`` change rows.
    """
    report = ImportReport(source=str(OPEN_ELIGIBILITY_CSV), format="open-eligibility", strict=True)
    records, warnings = open_eligibility_records()
    report.warnings.extend(warnings)
    load_records(session, records, report, updated_by="taxonomy:open-eligibility")
    if commit:
        session.commit() if report.written else session.rollback()
    return report


@dataclass(frozen=True)
class CrosswalkEntry:
    category_code: str
    term_code: str
    term_name: str
    facet: str  # "services" or "situations"


@cache
def crosswalk() -> dict[str, tuple[CrosswalkEntry, ...]]:
    """Gravity SDOH category code -> Open Eligibility terms, from ``data/sdoh-category-crosswalk.csv``."""
    out: dict[str, list[CrosswalkEntry]] = defaultdict(list)
    with CROSSWALK_CSV.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            code = row["category_code"].strip()
            out.setdefault(code, [])
            if row["term_code"].strip():
                out[code].append(
                    CrosswalkEntry(code, row["term_code"].strip(), row["term_name"].strip(), row["facet"].strip())
                )
    return {k: tuple(v) for k, v in out.items()}


def terms_for_category(session: Session, code: str, *, facet: str | None = None) -> list[TaxonomyTerm]:
    """Taxonomy terms for a Gravity SDOH category, including every descendant of the mapped terms.

    ``facet`` = "services" or "situations" restricts to one Open Eligibility facet. Returns [] for a code
    outside the SDOH category value set (callers such as search try other interpretations of a "need"; check
    ``SDOH_CATEGORIES`` to validate), for ``sdoh-category-unspecified`` (no specific terms) and when the
    taxonomy has not been loaded. Sorted by code.
    """
    entries = [e for e in crosswalk().get(code, ()) if facet is None or e.facet == facet]
    frontier = {open_eligibility_term_id(e.term_code) for e in entries}
    found: dict[str, TaxonomyTerm] = {}
    while frontier:
        batch = list(frontier)
        frontier = set()
        for i in range(0, len(batch), 500):
            chunk = batch[i : i + 500]
            for term in session.scalars(select(TaxonomyTerm).where(TaxonomyTerm.id.in_(chunk))):
                found[term.id] = term
            for child in session.scalars(select(TaxonomyTerm).where(TaxonomyTerm.parent_id.in_(chunk))):
                if child.id not in found:
                    found[child.id] = child
                    frontier.add(child.id)
    return sorted(found.values(), key=lambda t: (t.code or "", t.id))
