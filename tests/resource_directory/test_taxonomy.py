"""Open Eligibility loading and the Gravity SDOH category crosswalk (§B.9)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resource_directory.models import Taxonomy, TaxonomyTerm
from resource_directory.taxonomy import (
    CROSSWALK_CSV,
    OPEN_ELIGIBILITY_CSV,
    OPEN_ELIGIBILITY_TAXONOMY_ID,
    SDOH_CATEGORIES,
    crosswalk,
    load_open_eligibility,
    open_eligibility_term_id,
    terms_for_category,
)


def test_sdoh_categories_are_exactly_the_23_codes_of_the_gravity_value_set(shared_dir: Path) -> None:
    spec = (shared_dir / "spec" / "gravity-sdoh-cc.md").read_text(encoding="utf-8")
    section = spec.split("### 7.1", 1)[1].split("### 7.2", 1)[0]
    codes = set(re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.MULTILINE))
    assert len(codes) == 23
    assert set(SDOH_CATEGORIES) == codes
    assert set(crosswalk()) == codes  # every category has a crosswalk entry (possibly "no specific terms")


def test_every_crosswalk_term_exists_in_open_eligibility_with_the_stated_name() -> None:
    with OPEN_ELIGIBILITY_CSV.open(encoding="utf-8") as fh:
        titles: dict[str, str] = {}
        for row in csv.DictReader(fh):
            titles.setdefault(row["id"], row["title"])
    with CROSSWALK_CSV.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["term_code"]]
    assert rows
    for row in rows:
        assert titles.get(row["term_code"]) == row["term_name"], row
        assert row["facet"] == ("situations" if int(row["term_code"]) >= 20000 else "services")


def test_open_eligibility_loads_with_parents_and_reloads_unchanged(session: Session) -> None:
    report = load_open_eligibility(session)
    assert report.ok
    assert dict(report.created) == {"taxonomy": 1, "taxonomy_term": 384}  # 385 rows, one duplicate upstream id
    assert [w.record_id for w in report.warnings] == ["1206"]
    assert session.get(Taxonomy, OPEN_ELIGIBILITY_TAXONOMY_ID) is not None
    pantry = session.get(TaxonomyTerm, open_eligibility_term_id("1130"))
    assert pantry is not None
    assert (pantry.code, pantry.name, pantry.parent_id) == ("1130", "Food Pantry", open_eligibility_term_id("1102"))
    roots = session.scalar(select(func.count()).select_from(TaxonomyTerm).where(TaxonomyTerm.parent_id.is_(None)))
    assert roots == 11 + 22  # 11 service top levels + 22 situation groups (General ... Urgency)
    again = load_open_eligibility(session)
    assert again.total("unchanged") == 385
    assert again.total("created") == again.total("updated") == 0


def test_food_insecurity_terms_include_descendants_of_mapped_terms(session: Session) -> None:
    load_open_eligibility(session)
    terms = terms_for_category(session, "food-insecurity")
    names = {t.code: t.name for t in terms}
    assert {"1102", "1130", "1131", "20063"} <= set(names)
    assert names["1127"] == "Community Gardens"  # child of Food (1102), not listed in the crosswalk itself
    assert "1304" not in names  # counseling is not a food need
    services_only = terms_for_category(session, "food-insecurity", facet="services")
    assert all(int(t.code or 0) < 20000 for t in services_only)
    assert len(services_only) == len(terms) - 2


def test_every_category_resolves_and_unknown_codes_give_no_terms(session: Session) -> None:
    load_open_eligibility(session)
    for code in SDOH_CATEGORIES:
        terms = terms_for_category(session, code)
        assert bool(terms) == (code != "sdoh-category-unspecified"), code
    assert terms_for_category(session, "food") == []


def test_terms_for_category_is_empty_before_the_taxonomy_is_loaded(session: Session) -> None:
    assert terms_for_category(session, "homelessness") == []
