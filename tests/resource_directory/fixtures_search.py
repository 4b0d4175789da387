"""Compact builders for search/geocoding tests: real model rows, inserted through the ORM.

Imported by the ``test_search_*``, ``test_geocoding_*`` and ``test_schedule`` modules (the shared
``conftest.py`` provides the ``engine``/``session`` fixtures on SQLite and PostgreSQL).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from resource_directory.models import (
    Address,
    Attribute,
    CostOption,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Hours:
    """A schedule row in test shorthand: Hours("MO,TU", "09:00", "17:00")."""

    byday: str | None
    opens_at: str | None
    closes_at: str | None
    freq: str | None = "WEEKLY"
    timezone: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        # Lets schedule code read extra HSDS fields (valid_from, interval, ...) straight off Hours.
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(name)

    def row(self, **owner: str) -> Schedule:
        return Schedule(
            id=new_id(),
            freq=self.freq,
            byday=self.byday,
            opens_at=self.opens_at,
            closes_at=self.closes_at,
            timezone=self.timezone,
            **owner,
            **self.extra,
        )


class Directory:
    """Adds organizations, terms, services and locations to a session; flushes after each call."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.organization = self.org("Community Partners")

    def org(self, name: str) -> Organization:
        org = Organization(id=new_id(), name=name, description=f"{name} description")
        self.session.add(org)
        self.session.flush()
        return org

    def term(self, name: str, code: str | None = None, parent: TaxonomyTerm | None = None) -> TaxonomyTerm:
        term = TaxonomyTerm(
            id=new_id(), name=name, code=code, description=name, parent_id=parent.id if parent else None
        )
        self.session.add(term)
        self.session.flush()
        return term

    def service(
        self,
        name: str,
        *,
        service_id: str | None = None,
        organization: Organization | None = None,
        description: str | None = None,
        terms: Iterable[TaxonomyTerm] = (),
        languages: Sequence[tuple[str | None, str | None]] = (),
        minimum_age: float | None = None,
        maximum_age: float | None = None,
        fees_description: str | None = None,
        costs: Sequence[float] = (),
        referral_status: str = "accepting",
        status: str = "active",
        assured_date: date | None = None,
        hours: Sequence[Hours] = (),
        areas: Sequence[dict[str, Any]] = (),
        phones: Sequence[str] = (),
    ) -> Service:
        service = Service(
            id=service_id or new_id(),
            organization_id=(organization or self.organization).id,
            name=name,
            description=description,
            status=status,
            minimum_age=minimum_age,
            maximum_age=maximum_age,
            fees_description=fees_description,
            referral_status=referral_status,
            assured_date=assured_date,
        )
        self.session.add(service)
        self.session.flush()
        for term in terms:
            self.session.add(
                Attribute(
                    id=new_id(),
                    link_id=service.id,
                    link_entity="service",
                    link_type="service_type",
                    taxonomy_term_id=term.id,
                )
            )
        for code, language_name in languages:
            self.session.add(Language(id=new_id(), service_id=service.id, code=code, name=language_name))
        for amount in costs:
            self.session.add(CostOption(id=new_id(), service_id=service.id, amount=amount, currency="USD"))
        for schedule in hours:
            self.session.add(schedule.row(service_id=service.id))
        for area in areas:
            self.session.add(ServiceArea(id=new_id(), service_id=service.id, **area))
        for number in phones:
            self.session.add(Phone(id=new_id(), service_id=service.id, number=number))
        self.session.flush()
        return service

    def place(
        self,
        service: Service,
        lat: float | None,
        lon: float | None,
        *,
        name: str | None = None,
        location_id: str | None = None,
        postal_code: str | None = None,
        languages: Sequence[tuple[str | None, str | None]] = (),
        hours: Sequence[Hours] = (),
        location_type: str = "physical",
    ) -> Location:
        location = Location(
            id=location_id or new_id(),
            location_type=location_type,
            name=name or f"{service.name} site",
            latitude=lat,
            longitude=lon,
        )
        self.session.add(location)
        self.session.flush()
        self.session.add(ServiceAtLocation(id=new_id(), service_id=service.id, location_id=location.id))
        if postal_code:
            self.session.add(
                Address(
                    id=new_id(),
                    location_id=location.id,
                    address_1="1 Main St",
                    city="Town",
                    state_province="CA",
                    postal_code=postal_code,
                    country="US",
                    address_type="physical",
                )
            )
        for code, language_name in languages:
            self.session.add(Language(id=new_id(), location_id=location.id, code=code, name=language_name))
        for schedule in hours:
            self.session.add(schedule.row(location_id=location.id))
        self.session.flush()
        return location
