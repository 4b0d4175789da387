"""The denormalised search tables follow every edit that changes an answer, on SQLite and PostgreSQL.

Search reads ``hsds_search_location`` / ``hsds_search_term`` (``resource_directory.ddl``), kept current by
triggers: immediately on SQLite, at commit on PostgreSQL. Each test edits one HSDS table through the ORM,
commits, and checks that the next search sees the change.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.orm import Session

from resource_directory.ddl import name_sort_key, refresh_search_index
from resource_directory.models import Attribute, CostOption, Language, Service, ServiceAtLocation
from resource_directory.search import SearchQuery, search
from tests.resource_directory.fixtures_search import Directory, new_id

POINT = (40.0, -75.0)


@pytest.fixture
def directory(session: Session) -> Directory:
    return Directory(session)


def ids(session: Session, **criteria: object) -> list[str]:
    return [r.service_id for r in search(session, SearchQuery(**criteria)).results]  # type: ignore[arg-type]


def test_language_rows_added_and_removed_change_language_matches(session: Session, directory: Directory) -> None:
    service = directory.service("Clinic")
    location = directory.place(service, *POINT)
    session.commit()
    assert ids(session, language="es") == []
    session.add(Language(id=new_id(), location_id=location.id, code="es", name="Spanish"))
    session.commit()
    assert ids(session, language="es") == [service.id]
    session.execute(delete(Language).where(Language.location_id == location.id))
    session.commit()
    assert ids(session, language="es") == []


def test_cost_options_and_fee_text_change_the_free_filter(session: Session, directory: Directory) -> None:
    service = directory.service("Pantry", fees_description="Free for residents")
    session.commit()
    assert ids(session, free_only=True) == [service.id]
    session.add(CostOption(id=new_id(), service_id=service.id, amount=25.0, currency="USD"))
    session.commit()
    assert ids(session, free_only=True) == []  # a priced option outweighs the fee text
    session.add(CostOption(id=new_id(), service_id=service.id, amount=0.0, currency="USD"))
    session.commit()
    assert ids(session, free_only=True) == [service.id]  # a zero-cost option makes it free again


def test_need_follows_attributes_and_status_and_referral_state(session: Session, directory: Directory) -> None:
    food = directory.term("Food", "102")
    service = directory.service("Pantry")
    directory.place(service, *POINT)
    session.commit()
    assert ids(session, need=food.id, near=POINT, radius_km=1) == []
    attribute = Attribute(id=new_id(), link_id=service.id, link_entity="service", taxonomy_term_id=food.id)
    session.add(attribute)
    session.commit()
    assert ids(session, need=food.id, near=POINT, radius_km=1) == [service.id]
    session.execute(update(Service).where(Service.id == service.id).values(referral_status="paused"))
    session.commit()
    assert ids(session, need=food.id, accepting_only=True) == []
    assert ids(session, need=food.id) == [service.id]
    session.execute(update(Service).where(Service.id == service.id).values(status="inactive"))
    session.commit()
    assert ids(session, need=food.id) == []
    session.execute(update(Service).where(Service.id == service.id).values(status="active"))
    session.execute(delete(Attribute).where(Attribute.id == attribute.id))
    session.commit()
    assert ids(session, need=food.id) == []


def test_removing_a_site_removes_its_distance_and_age_limits_apply(session: Session, directory: Directory) -> None:
    service = directory.service("Youth Center", minimum_age=12, maximum_age=18)
    near = directory.place(service, *POINT)
    directory.place(service, POINT[0] + 0.05, POINT[1])  # about 5.6 km north
    session.commit()
    page = search(session, SearchQuery(near=POINT, radius_km=10))
    assert page.results[0].location_id == near.id
    session.execute(delete(ServiceAtLocation).where(ServiceAtLocation.location_id == near.id))
    session.commit()
    page = search(session, SearchQuery(near=POINT, radius_km=10))
    assert page.results[0].location_id != near.id
    assert page.results[0].distance_km == pytest.approx(5.56, abs=0.01)
    assert ids(session, age=20) == []
    assert ids(session, age=12) == [service.id]


def test_full_rebuild_gives_the_same_rows_as_the_triggers(session: Session, directory: Directory) -> None:
    food = directory.term("Food", "102")
    for index in range(5):
        service = directory.service(
            f"Service {index}", terms=[food], languages=[("es", "Spanish")] if index % 2 else (), costs=[0]
        )
        directory.place(service, POINT[0] + index / 100, POINT[1], languages=[("zh", "Chinese")])
    session.commit()

    def rows() -> list[tuple[object, ...]]:
        found = session.execute(
            text(
                "SELECT service_id, sal_id, location_id, latitude, longitude, lat_band, name_key, is_free,"
                " referral_status, lang_codes, lang_names FROM hsds_search_location ORDER BY sal_id"
            )
        ).all()
        # Language lists are sets: the set-wise rebuild may order or repeat codes differently.
        return [
            (*r[:9], set(r[9].strip("|").split("|")) - {""}, set(r[10].strip("|").split("|")) - {""}) for r in found
        ]

    by_triggers = rows()
    refresh_search_index(session)
    session.commit()
    assert rows() == by_triggers
    assert len(by_triggers) == 5


def _items(delimited: str) -> set[str]:
    return set(delimited.strip("|").split("|")) - {""}


def test_name_order_folds_ascii_case_only_and_is_the_same_everywhere(session: Session, directory: Directory) -> None:
    for name in ("beta", "Alpha", "ALPHA 2", "Éclair", "eclair"):
        directory.service(name)
    session.commit()
    names = [r.service_name for r in search(session, SearchQuery()).results]
    assert names == sorted(names, key=name_sort_key)
    assert names == ["Alpha", "ALPHA 2", "beta", "eclair", "Éclair"]
