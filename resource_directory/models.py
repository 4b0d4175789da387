"""HSDS 3.0 (+ 3.1 capacity/unit/url) object model as plain SQLAlchemy 2.0 tables.

Why this shape:
- One table per HSDS object, named ``hsds_<object>``, with the HSDS field names unchanged so that the
  Tabular Data Package and the HSDS JSON serializations map 1:1 onto columns (market-and-hsds.md §B.2).
- Primary keys are the HSDS string UUIDs (``id``). The importer validates them; the database stores text
  so SQLite and PostgreSQL behave the same.
- HSDS "number" fields are ``Float`` (ages may be fractional), except counts/years/extensions (``Integer``).
  Dates are ``Date``; date-times are stored as *naive UTC* ``DateTime`` because SQLite cannot keep offsets
  and both engines must return the same values.
- ``schedule.opens_at``/``closes_at`` and ``schedule.timezone`` are kept as text: HSDS allows a time with an
  offset (``09:00-08:00``) and a timezone as a UTC offset number or an IANA name.

Foreign-key policy (documented in README.md): a database foreign key exists only where HSDS *requires* the
reference and the child cannot exist without its owner (service -> organization, service_at_location ->
service/location, program/organization_identifier -> organization, cost_option/service_capacity ->
service, attribute -> taxonomy_term, service_capacity -> unit). Optional cross references
(``location.organization_id``, ``contact.*_id``, ``phone.*_id``, ``taxonomy_term.parent_id``, ...) are
indexed text columns without a database constraint, because HSDS feeds legitimately reference objects
published elsewhere (the official 3.0 example rows do so). The importer still checks every reference
and refuses rows whose target was refused in the same import.

Hub-only columns (not part of HSDS, never exported): ``service.referral_status`` and the
``location.geocode_*`` columns.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, foreign, mapped_column, relationship

# Explicit constraint names so Alembic autogenerate produces stable, reviewable migrations.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UUID_LEN = 36

SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")
LOCATION_TYPES = ("physical", "postal", "virtual")
ADDRESS_TYPES = ("physical", "postal", "virtual")
REFERRAL_STATUSES = ("accepting", "waitlist", "paused")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base for every ``hsds_*`` table (wired into the hub's Alembic by the lead engineer)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _id() -> Mapped[str]:
    return mapped_column(String(UUID_LEN), primary_key=True)


def _ref(target: str | None = None, *, required: bool = False, ondelete: str = "CASCADE") -> Mapped[str | None]:
    """A reference column. ``target`` given -> real foreign key (only for required ownership links)."""
    if target is not None:
        return mapped_column(String(UUID_LEN), ForeignKey(target, ondelete=ondelete), nullable=not required, index=True)
    return mapped_column(String(UUID_LEN), nullable=not required, index=True)


class Organization(Base):
    __tablename__ = "hsds_organization"

    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    # Deprecated in 3.0 but still in the official datapackage; kept so round trips are lossless.
    tax_status: Mapped[str | None] = mapped_column(Text)
    tax_id: Mapped[str | None] = mapped_column(Text)
    year_incorporated: Mapped[int | None] = mapped_column(Integer)
    legal_status: Mapped[str | None] = mapped_column(Text)
    logo: Mapped[str | None] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(Text)
    parent_organization_id: Mapped[str | None] = _ref()

    services: Mapped[list[Service]] = relationship(back_populates="organization", passive_deletes=True)
    programs: Mapped[list[Program]] = relationship(back_populates="organization", passive_deletes=True)


class OrganizationIdentifier(Base):
    __tablename__ = "hsds_organization_identifier"

    id: Mapped[str] = _id()
    organization_id: Mapped[str] = _ref("hsds_organization.id", required=True)
    identifier_scheme: Mapped[str | None] = mapped_column(Text)
    identifier_type: Mapped[str] = mapped_column(Text)
    identifier: Mapped[str] = mapped_column(Text)


class Program(Base):
    __tablename__ = "hsds_program"

    id: Mapped[str] = _id()
    organization_id: Mapped[str] = _ref("hsds_organization.id", required=True)
    name: Mapped[str] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)

    organization: Mapped[Organization] = relationship(back_populates="programs")


class Service(Base):
    __tablename__ = "hsds_service"
    __table_args__ = (
        CheckConstraint(_in("status", SERVICE_STATUSES), name="status"),
        CheckConstraint(_in("referral_status", REFERRAL_STATUSES), name="referral_status"),
    )

    id: Mapped[str] = _id()
    organization_id: Mapped[str] = _ref("hsds_organization.id", required=True)
    program_id: Mapped[str | None] = _ref()
    name: Mapped[str] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    interpretation_services: Mapped[str | None] = mapped_column(Text)
    application_process: Mapped[str | None] = mapped_column(Text)
    fees_description: Mapped[str | None] = mapped_column(Text)
    wait_time: Mapped[str | None] = mapped_column(Text)  # deprecated in 3.0, kept for lossless round trips
    fees: Mapped[str | None] = mapped_column(Text)  # deprecated in 3.0
    accreditations: Mapped[str | None] = mapped_column(Text)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[float | None] = mapped_column(Float)
    maximum_age: Mapped[float | None] = mapped_column(Float)
    assured_date: Mapped[dt.date | None] = mapped_column(Date)
    assurer_email: Mapped[str | None] = mapped_column(Text)
    licenses: Mapped[str | None] = mapped_column(Text)  # deprecated in 3.0
    alert: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[dt.datetime | None] = mapped_column(DateTime)  # naive UTC
    # Hub field (issue 5 scope 1): is the service taking referrals right now? Not part of HSDS.
    referral_status: Mapped[str] = mapped_column(String(16), default="accepting", server_default="accepting")

    organization: Mapped[Organization] = relationship(back_populates="services")
    service_at_locations: Mapped[list[ServiceAtLocation]] = relationship(back_populates="service", passive_deletes=True)
    languages: Mapped[list[Language]] = relationship(
        primaryjoin=lambda: Service.id == foreign(Language.service_id), viewonly=True
    )
    schedules: Mapped[list[Schedule]] = relationship(
        primaryjoin=lambda: Service.id == foreign(Schedule.service_id), viewonly=True
    )
    cost_options: Mapped[list[CostOption]] = relationship(viewonly=True)


class Location(Base):
    __tablename__ = "hsds_location"
    __table_args__ = (CheckConstraint(_in("location_type", LOCATION_TYPES), name="location_type"),)

    id: Mapped[str] = _id()
    location_type: Mapped[str] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(Text)
    organization_id: Mapped[str | None] = _ref()
    name: Mapped[str | None] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    transportation: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)  # WGS84
    longitude: Mapped[float | None] = mapped_column(Float)
    external_identifier: Mapped[str | None] = mapped_column(Text)
    external_identifier_type: Mapped[str | None] = mapped_column(Text)
    # Hub fields: how the coordinates were obtained. "data" = given by the source feed,
    # "zip-centroid", "provider:<geopy name>"; None = not geocoded.
    geocode_source: Mapped[str | None] = mapped_column(String(64))
    geocode_precision: Mapped[str | None] = mapped_column(String(32))  # "rooftop", "postcode", ...
    geocoded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # naive UTC

    service_at_locations: Mapped[list[ServiceAtLocation]] = relationship(
        back_populates="location", passive_deletes=True
    )
    addresses: Mapped[list[Address]] = relationship(
        primaryjoin=lambda: Location.id == foreign(Address.location_id), viewonly=True
    )
    languages: Mapped[list[Language]] = relationship(
        primaryjoin=lambda: Location.id == foreign(Language.location_id), viewonly=True
    )
    schedules: Mapped[list[Schedule]] = relationship(
        primaryjoin=lambda: Location.id == foreign(Schedule.location_id), viewonly=True
    )


class ServiceAtLocation(Base):
    __tablename__ = "hsds_service_at_location"

    id: Mapped[str] = _id()
    service_id: Mapped[str] = _ref("hsds_service.id", required=True)
    location_id: Mapped[str] = _ref("hsds_location.id", required=True)
    description: Mapped[str | None] = mapped_column(Text)

    service: Mapped[Service] = relationship(back_populates="service_at_locations")
    location: Mapped[Location] = relationship(back_populates="service_at_locations")
    schedules: Mapped[list[Schedule]] = relationship(
        primaryjoin=lambda: ServiceAtLocation.id == foreign(Schedule.service_at_location_id), viewonly=True
    )


class Address(Base):
    __tablename__ = "hsds_address"
    __table_args__ = (CheckConstraint(_in("address_type", ADDRESS_TYPES), name="address_type"),)

    id: Mapped[str] = _id()
    location_id: Mapped[str | None] = _ref()
    attention: Mapped[str | None] = mapped_column(Text)
    address_1: Mapped[str] = mapped_column(Text)
    address_2: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    state_province: Mapped[str] = mapped_column(Text)
    postal_code: Mapped[str] = mapped_column(String(32), index=True)
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    address_type: Mapped[str] = mapped_column(String(16))


class Phone(Base):
    __tablename__ = "hsds_phone"

    id: Mapped[str] = _id()
    location_id: Mapped[str | None] = _ref()
    service_id: Mapped[str | None] = _ref()
    organization_id: Mapped[str | None] = _ref()
    contact_id: Mapped[str | None] = _ref()
    service_at_location_id: Mapped[str | None] = _ref()
    number: Mapped[str] = mapped_column(Text)
    extension: Mapped[int | None] = mapped_column(Integer)
    type: Mapped[str | None] = mapped_column(String(32))  # RFC 6350 TYPE: text, voice, fax, cell, ...
    description: Mapped[str | None] = mapped_column(Text)


class Contact(Base):
    __tablename__ = "hsds_contact"

    id: Mapped[str] = _id()
    organization_id: Mapped[str | None] = _ref()
    service_id: Mapped[str | None] = _ref()
    service_at_location_id: Mapped[str | None] = _ref()
    location_id: Mapped[str | None] = _ref()
    name: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)


class Schedule(Base):
    """iCalendar RRULE-style opening hours (HSDS 3.0 ``schedule``)."""

    __tablename__ = "hsds_schedule"

    id: Mapped[str] = _id()
    service_id: Mapped[str | None] = _ref()
    location_id: Mapped[str | None] = _ref()
    service_at_location_id: Mapped[str | None] = _ref()
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    dtstart: Mapped[dt.date | None] = mapped_column(Date)
    timezone: Mapped[str | None] = mapped_column(String(64))  # UTC offset number or IANA name, as given
    until: Mapped[dt.date | None] = mapped_column(Date)
    count: Mapped[int | None] = mapped_column(Integer)
    wkst: Mapped[str | None] = mapped_column(String(2))
    freq: Mapped[str | None] = mapped_column(String(16))
    interval: Mapped[int | None] = mapped_column(Integer)
    byday: Mapped[str | None] = mapped_column(Text)
    byweekno: Mapped[str | None] = mapped_column(Text)
    bymonthday: Mapped[str | None] = mapped_column(Text)
    byyearday: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    opens_at: Mapped[str | None] = mapped_column(String(32))  # "HH:MM[:SS][offset]" as in HSDS
    closes_at: Mapped[str | None] = mapped_column(String(32))
    schedule_link: Mapped[str | None] = mapped_column(Text)
    attending_type: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class Funding(Base):
    __tablename__ = "hsds_funding"

    id: Mapped[str] = _id()
    organization_id: Mapped[str | None] = _ref()
    service_id: Mapped[str | None] = _ref()
    source: Mapped[str | None] = mapped_column(Text)


class ServiceArea(Base):
    __tablename__ = "hsds_service_area"

    id: Mapped[str] = _id()
    service_id: Mapped[str | None] = _ref()
    service_at_location_id: Mapped[str | None] = _ref()  # HSDS 3.1
    name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    extent: Mapped[str | None] = mapped_column(Text)  # GeoJSON / TopoJSON / KML / text, per extent_type
    extent_type: Mapped[str | None] = mapped_column(String(16))
    uri: Mapped[str | None] = mapped_column(Text)


class RequiredDocument(Base):
    __tablename__ = "hsds_required_document"

    id: Mapped[str] = _id()
    service_id: Mapped[str | None] = _ref()
    document: Mapped[str | None] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(Text)


class Language(Base):
    __tablename__ = "hsds_language"

    id: Mapped[str] = _id()
    service_id: Mapped[str | None] = _ref()
    location_id: Mapped[str | None] = _ref()
    phone_id: Mapped[str | None] = _ref()
    name: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(16), index=True)  # ISO 639-1 or 639-3
    note: Mapped[str | None] = mapped_column(Text)


class Accessibility(Base):
    __tablename__ = "hsds_accessibility"

    id: Mapped[str] = _id()
    location_id: Mapped[str | None] = _ref()
    description: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)


class CostOption(Base):
    __tablename__ = "hsds_cost_option"

    id: Mapped[str] = _id()
    service_id: Mapped[str] = _ref("hsds_service.id", required=True)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    option: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(3))
    amount: Mapped[float | None] = mapped_column(Float)
    amount_description: Mapped[str | None] = mapped_column(Text)


class Taxonomy(Base):
    __tablename__ = "hsds_taxonomy"

    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(Text)


class TaxonomyTerm(Base):
    __tablename__ = "hsds_taxonomy_term"
    __table_args__ = (Index("ix_hsds_taxonomy_term_taxonomy_id_code", "taxonomy_id", "code"),)

    id: Mapped[str] = _id()
    code: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[str | None] = _ref()
    taxonomy: Mapped[str | None] = mapped_column(Text)  # free-text taxonomy name (HSDS keeps both)
    language: Mapped[str | None] = mapped_column(String(16))
    taxonomy_id: Mapped[str | None] = mapped_column(String(UUID_LEN))  # indexed with code above
    term_uri: Mapped[str | None] = mapped_column(Text)


class Attribute(Base):
    """Links a taxonomy term to any HSDS object: ``link_entity`` names the table, ``link_id`` the row."""

    __tablename__ = "hsds_attribute"
    __table_args__ = (Index("ix_hsds_attribute_link_entity_link_id", "link_entity", "link_id"),)

    id: Mapped[str] = _id()
    link_id: Mapped[str] = mapped_column(String(UUID_LEN), index=True)
    taxonomy_term_id: Mapped[str] = _ref("hsds_taxonomy_term.id", required=True)
    link_type: Mapped[str | None] = mapped_column(Text)  # open codelist, e.g. "service_type", "audience"
    link_entity: Mapped[str] = mapped_column(String(64))  # e.g. "service", "location", "organization"
    value: Mapped[str | None] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(Text)  # HSDS 3.1

    taxonomy_term: Mapped[TaxonomyTerm] = relationship()


class MetadataEntry(Base):
    """HSDS ``metadata``: a field-level change log row attached to any object (``resource_id``)."""

    __tablename__ = "hsds_metadata"
    __table_args__ = (Index("ix_hsds_metadata_resource_type_resource_id", "resource_type", "resource_id"),)

    id: Mapped[str] = _id()
    resource_id: Mapped[str] = mapped_column(String(UUID_LEN))
    resource_type: Mapped[str] = mapped_column(String(64))
    last_action_date: Mapped[dt.date] = mapped_column(Date)
    last_action_type: Mapped[str] = mapped_column(String(16))  # create / update / delete
    field_name: Mapped[str] = mapped_column(Text)
    previous_value: Mapped[str] = mapped_column(Text)
    replacement_value: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(Text)


class MetaTableDescription(Base):
    __tablename__ = "hsds_meta_table_description"

    id: Mapped[str] = _id()
    name: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    character_set: Mapped[str | None] = mapped_column(Text)


class Unit(Base):
    """HSDS 3.1 ``unit`` (e.g. "Bed"), referenced by ``service_capacity``."""

    __tablename__ = "hsds_unit"

    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(Text)
    scheme: Mapped[str | None] = mapped_column(Text)
    identifier: Mapped[str | None] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(Text)


class ServiceCapacity(Base):
    """HSDS 3.1 ``service_capacity``: available / maximum amount of a unit for a service."""

    __tablename__ = "hsds_service_capacity"

    id: Mapped[str] = _id()
    service_id: Mapped[str] = _ref("hsds_service.id", required=True)
    unit_id: Mapped[str] = _ref("hsds_unit.id", required=True, ondelete="RESTRICT")
    available: Mapped[float] = mapped_column(Float)
    maximum: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str | None] = mapped_column(Text)
    updated: Mapped[dt.datetime] = mapped_column(DateTime)  # naive UTC


class Url(Base):
    """HSDS 3.1 ``url``: additional labelled URLs of an organization or service."""

    __tablename__ = "hsds_url"

    id: Mapped[str] = _id()
    label: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    organization_id: Mapped[str | None] = _ref()
    service_id: Mapped[str | None] = _ref()


# HSDS object name -> mapped class, in dependency order (owners before the rows that need them).
HSDS_MODELS: dict[str, type[Base]] = {
    "organization": Organization,
    "organization_identifier": OrganizationIdentifier,
    "program": Program,
    "service": Service,
    "location": Location,
    "service_at_location": ServiceAtLocation,
    "address": Address,
    "contact": Contact,
    "phone": Phone,
    "schedule": Schedule,
    "funding": Funding,
    "service_area": ServiceArea,
    "required_document": RequiredDocument,
    "language": Language,
    "accessibility": Accessibility,
    "cost_option": CostOption,
    "taxonomy": Taxonomy,
    "taxonomy_term": TaxonomyTerm,
    "attribute": Attribute,
    "metadata": MetadataEntry,
    "meta_table_description": MetaTableDescription,
    "unit": Unit,
    "service_capacity": ServiceCapacity,
    "url": Url,
}

# Columns that exist for the hub only; importers never write them and exporters never emit them.
HUB_ONLY_COLUMNS: dict[str, frozenset[str]] = {
    "service": frozenset({"referral_status"}),
    "location": frozenset({"geocode_source", "geocode_precision", "geocoded_at"}),
}
