"""Directory search: each filter, its explanation, ordering and paging — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from resource_directory.ddl import refresh_search_index
from resource_directory.models import Organization
from resource_directory.search import SearchError, SearchQuery, search
from tests.resource_directory.fixtures_search import Directory, Hours

NY = ZoneInfo("America/New_York")
MONDAY_NOON = datetime(2024, 5, 6, 12, 0, tzinfo=NY)
BRONX = (40.8448, -73.8648)  # near ZIP 10460


def names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.service_name for r in page.results]


@pytest.fixture
def directory(session: Session) -> Directory:
    return Directory(session)


def test_need_by_term_matches_narrower_terms_and_explains(session: Session, directory: Directory) -> None:
    food = directory.term("Food", "102")
    pantry = directory.term("Food Pantry", "102-04", parent=food)
    housing = directory.term("Housing", "103")
    directory.service("Corner Pantry", terms=[pantry])
    directory.service("Meals Program", terms=[food])
    directory.service("Shelter", terms=[housing])
    session.commit()
    page = search(session, SearchQuery(need=food.id))
    assert names(page) == ["Corner Pantry", "Meals Program"]
    assert page.results[0].matched == ["need: Food Pantry"]
    assert names(search(session, SearchQuery(need="102-04"))) == ["Corner Pantry"]
    with pytest.raises(SearchError) as error:
        search(session, SearchQuery(need="no-such-need"))
    assert error.value.field == "need"


def test_free_text_is_stemmed_ranked_and_includes_organization_and_terms(
    session: Session, directory: Directory
) -> None:
    bank = directory.org("Second Harvest Food Bank")
    directory.service("Diaper Bank", description="Free diapers for families with babies")
    directory.service("Baby Clinic", description="Check-ups; we sometimes hand out a diaper")
    directory.service("Mobile Pantry", organization=bank, description="Groceries from a truck")
    tagged = directory.term("Food Pantry", "102-04")
    directory.service("Church Basement", terms=[tagged], description="Tuesday afternoons")
    session.commit()
    page = search(session, SearchQuery(text="diaper"))
    assert names(page) == ["Diaper Bank", "Baby Clinic"]  # the name match ranks first
    assert page.results[0].matched == ["text: 'diaper'"]
    assert names(search(session, SearchQuery(text="harvest"))) == ["Mobile Pantry"]
    assert names(search(session, SearchQuery(text="pantries"))) == ["Mobile Pantry", "Church Basement"]
    assert names(search(session, SearchQuery(text='"free diapers"'))) == ["Diaper Bank"]
    assert names(search(session, SearchQuery(text="diaper -families"))) == ["Baby Clinic"]
    # Rank formulas differ between engines (bm25 vs ts_rank_cd); the matching set must not.
    assert set(names(search(session, SearchQuery(text="groceries or check-ups")))) == {"Baby Clinic", "Mobile Pantry"}


@pytest.mark.parametrize(
    "text",
    [
        '"',
        "diaper*",
        "NEAR(diaper bank)",
        "name:diaper",
        "diaper)",
        "(diaper",
        "^diaper",
        "diaper AND",
        "'diaper'",
        "diaper; DROP TABLE hsds_service; --",
        'dia"per',
        "-",
        "OR",
        "*",
        "diaper NOT",
    ],
)
def test_fts_syntax_in_user_text_is_searched_as_words_never_an_error(
    session: Session, directory: Directory, text: str
) -> None:
    directory.service("Diaper Bank", description="Free diapers")
    session.commit()
    page = search(session, SearchQuery(text=text))
    assert page.total in (0, 1)
    assert search(session, SearchQuery(text="diaper")).total == 1  # the table survived


def test_punctuation_only_text_does_not_filter(session: Session, directory: Directory) -> None:
    directory.service("Diaper Bank")
    session.commit()
    assert search(session, SearchQuery(text="!!!")).total == 1


def test_language_matches_service_or_location_by_any_iso_code_or_name(session: Session, directory: Directory) -> None:
    by_code = directory.service("Clinica", languages=[("es", None)])
    directory.place(by_code, *BRONX)
    by_name = directory.service("Legal Aid")
    directory.place(by_name, 40.85, -73.87, languages=[(None, "Spanish")])
    three_letter = directory.service("Tenant Help", languages=[("spa", "Spanish")])
    directory.place(three_letter, 40.86, -73.88)
    other = directory.service("Chinese Center", languages=[("zh", "Chinese")])
    directory.place(other, 40.84, -73.86)
    session.commit()
    page = search(session, SearchQuery(language="es"))
    assert names(page) == ["Clinica", "Legal Aid", "Tenant Help"]
    assert all("speaks Spanish" in r.matched for r in page.results)
    assert search(session, SearchQuery(language="spa")).total == 3


def test_age_limits(session: Session, directory: Directory) -> None:
    directory.service("Youth Program", minimum_age=12, maximum_age=24)
    directory.service("Seniors Lunch", minimum_age=60)
    directory.service("Everyone")
    session.commit()
    page = search(session, SearchQuery(age=16))
    assert names(page) == ["Everyone", "Youth Program"]
    assert page.results[1].matched == ["age 16: serves ages 12–24"]
    assert names(search(session, SearchQuery(age=24))) == ["Everyone", "Youth Program"]  # bounds inclusive
    assert names(search(session, SearchQuery(age=70))) == ["Everyone", "Seniors Lunch"]


def test_free_only(session: Session, directory: Directory) -> None:
    directory.service("Zero Cost Option", costs=[0])
    directory.service("Says Free", fees_description="Free for county residents")
    directory.service("Sliding Scale", costs=[0, 25], fees_description="free for some")
    directory.service("Paid", costs=[40])
    directory.service("Unknown Cost")
    session.commit()
    page = search(session, SearchQuery(free_only=True))
    assert names(page) == ["Says Free", "Sliding Scale", "Zero Cost Option"]
    assert page.results[0].matched == ["free"]


def test_accepting_only_and_inactive_services_hidden(session: Session, directory: Directory) -> None:
    directory.service("Open Intake")
    directory.service("Long Waitlist", referral_status="waitlist")
    directory.service("Paused Program", referral_status="paused")
    directory.service("Defunct Program", status="defunct")
    session.commit()
    assert names(search(session, SearchQuery())) == ["Long Waitlist", "Open Intake", "Paused Program"]
    page = search(session, SearchQuery(accepting_only=True))
    assert names(page) == ["Open Intake"]
    assert page.results[0].matched == ["accepting referrals"]
    assert page.results[0].referral_status == "accepting"


def test_open_now_uses_location_time_zone_and_excludes_unknown_hours(session: Session, directory: Directory) -> None:
    nine_to_five = [Hours("MO,TU,WE,TH,FR", "09:00", "17:00")]
    east = directory.service("Bronx Pantry", hours=nine_to_five)
    directory.place(east, *BRONX, postal_code="10460")
    west = directory.service("Redwood Pantry", hours=nine_to_five)
    directory.place(west, 37.48, -122.21, postal_code="94063")
    night = directory.service("Night Shelter")
    directory.place(night, 40.85, -73.87, postal_code="10460", hours=[Hours("SU,MO,TU,WE,TH,FR,SA", "20:00", "08:00")])
    directory.service("No Hours Listed")
    session.commit()
    # Monday 10:00 in New York = 07:00 in California: only the Bronx pantry is open.
    page = search(session, SearchQuery(open_now=True), now=datetime(2024, 5, 6, 10, 0, tzinfo=NY))
    assert names(page) == ["Bronx Pantry"]
    assert page.results[0].matched == ["open now until 17:00"]
    assert page.results[0].open_now is True
    # Tuesday 01:00 New York: only the night shelter (opened Monday 20:00).
    late = search(session, SearchQuery(open_now=True), now=datetime(2024, 5, 7, 1, 0, tzinfo=NY))
    assert names(late) == ["Night Shelter"]
    assert late.results[0].matched == ["open now until 08:00"]
    # open_at in the future, given naive: read in the default zone.
    at = search(session, SearchQuery(open_at=datetime(2024, 5, 6, 13, 0)), default_timezone="America/Los_Angeles")
    assert names(at) == ["Bronx Pantry", "Redwood Pantry"]  # 16:00 in New York, 13:00 in California
    all_results = search(session, SearchQuery(), now=datetime(2024, 5, 6, 10, 0, tzinfo=NY))
    unknown = next(r for r in all_results.results if r.service_name == "No Hours Listed")
    assert (unknown.open_now, unknown.hours) == (None, "hours unknown")


def test_near_sorts_by_distance_with_radius_boundary_inclusive(session: Session, directory: Directory) -> None:
    origin = (40.0, -75.0)
    # Points due north: 0.009 degrees of latitude ~ 1.0 km.
    for km in (3.0, 1.0, 2.0, 6.0):
        service = directory.service(f"{km:g} km away")
        directory.place(service, origin[0] + km / 111.195, origin[1])
    session.commit()
    page = search(session, SearchQuery(near=origin, radius_km=5))
    assert names(page) == ["1 km away", "2 km away", "3 km away"]
    assert page.results[0].distance_km == pytest.approx(1.0, abs=0.01)
    assert page.results[0].matched == ["within 1.0 km"]
    exact = page.results[2].distance_km
    assert exact is not None
    assert names(search(session, SearchQuery(near=origin, radius_km=exact))) == names(page)
    assert names(search(session, SearchQuery(near=origin, radius_km=exact - 1e-6))) == names(page)[:2]
    assert names(search(session, SearchQuery(near=origin, radius_km=0))) == []
    assert search(session, SearchQuery(near=origin)).total == 4  # no radius: everything, nearest first


def test_near_accepts_zip_and_uses_nearest_location_of_multi_site_service(
    session: Session, directory: Directory
) -> None:
    chain = directory.service("Two Sites")
    far = directory.place(chain, 37.60, -122.40, name="Far site")
    near = directory.place(chain, 37.49, -122.21, name="Near site")
    session.commit()
    page = search(session, SearchQuery(near="94063", radius_km=30))
    assert page.total == 1
    assert page.results[0].location_id == near.id
    assert page.results[0].location_id != far.id
    with pytest.raises(SearchError) as error:
        search(session, SearchQuery(near="somewhere unknown"))
    assert error.value.field == "near"
    with pytest.raises(SearchError):
        search(session, SearchQuery(near="95,200"))


def test_spatial_index_follows_location_moves(session: Session, directory: Directory) -> None:
    service = directory.service("Moving Van")
    location = directory.place(service, 40.0, -75.0)
    session.commit()
    assert search(session, SearchQuery(near=(40.0, -75.0), radius_km=1)).total == 1
    location.latitude, location.longitude = 41.0, -75.0
    session.commit()
    assert search(session, SearchQuery(near=(40.0, -75.0), radius_km=1)).total == 0
    assert search(session, SearchQuery(near=(41.0, -75.0), radius_km=1)).total == 1


def test_covering_by_polygon_or_named_area(session: Session, directory: Directory) -> None:
    square = {
        "type": "Polygon",
        "coordinates": [[[-122.3, 37.4], [-122.1, 37.4], [-122.1, 37.6], [-122.3, 37.6], [-122.3, 37.4]]],
    }
    directory.service(
        "Polygon Area", areas=[{"name": "Redwood square", "extent": json.dumps(square), "extent_type": "geojson"}]
    )
    directory.service("County Area", areas=[{"name": "San Mateo County"}])
    directory.service("Bronx Only", areas=[{"name": "Bronx County"}])
    directory.service("No Area")
    session.commit()
    page = search(session, SearchQuery(covering="94063"))
    assert names(page) == ["County Area", "No Area", "Polygon Area"]
    reasons = {r.service_name: r.matched for r in page.results}
    assert reasons["County Area"] == ["serves your area (San Mateo County)"]
    assert reasons["No Area"] == ["no service-area limits listed"]
    assert names(search(session, SearchQuery(covering=(40.8448, -73.8648)))) == ["Bronx Only", "No Area"]


def test_filters_combine_and_every_reason_is_listed(session: Session, directory: Directory) -> None:
    food = directory.term("Food Pantry", "102-04")
    match = directory.service(
        "Despensa Comunitaria",
        terms=[food],
        languages=[("es", "Spanish")],
        costs=[0],
        description="Groceries every weekday",
        hours=[Hours("MO,TU,WE,TH,FR", "09:00", "17:00")],
        assured_date=date(2024, 4, 6),
        phones=["718-555-0100"],
    )
    directory.place(match, *BRONX, postal_code="10460")
    english_only = directory.service("Pantry English", terms=[food], costs=[0], description="Groceries")
    directory.place(english_only, *BRONX, postal_code="10460")
    session.commit()
    query = SearchQuery(
        need="102-04",
        text="groceries",
        near="10460",
        radius_km=5,
        language="es",
        open_now=True,
        free_only=True,
        accepting_only=True,
        age=40,
    )
    page = search(session, query, now=MONDAY_NOON)
    assert names(page) == ["Despensa Comunitaria"]
    result = page.results[0]
    assert result.matched[:4] == [
        "need: Food Pantry",
        "text: 'groceries'",
        "speaks Spanish",
        "age 40: no age limits listed",
    ]
    assert result.matched[4:7] == ["open now until 17:00", "free", "accepting referrals"]
    assert result.matched[7].startswith("within ")
    assert result.freshness_days == 30
    assert result.phones == ["718-555-0100"]
    assert result.languages == ["Spanish"]
    assert result.hours == "open now until 17:00"


def test_paging_is_stable_with_ties(session: Session, directory: Directory) -> None:
    for index in range(7):
        service = directory.service("Same Name", service_id=f"00000000-0000-0000-0000-00000000000{index}")
        directory.place(service, 40.0, -75.0)  # same point: distance ties too
    session.commit()
    seen = []
    for page_number in (1, 2, 3):
        page = search(session, SearchQuery(near=(40.0, -75.0), radius_km=1, page=page_number, per_page=3))
        assert page.total == 7
        assert page.total_pages == 3
        seen += [r.service_id for r in page.results]
    assert seen == sorted(seen)
    assert len(set(seen)) == 7


def test_refresh_search_index_picks_up_organization_renames(session: Session, directory: Directory) -> None:
    org = directory.org("Old Name Society")
    directory.service("Program", organization=org)
    session.commit()
    assert search(session, SearchQuery(text="society")).total == 1
    renamed = session.get(Organization, org.id)
    assert renamed is not None
    renamed.name = "Helping Hands Alliance"
    session.commit()
    refresh_search_index(session)
    session.commit()
    assert search(session, SearchQuery(text="alliance")).total == 1
    assert search(session, SearchQuery(text="society")).total == 0
