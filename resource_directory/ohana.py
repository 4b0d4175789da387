"""Ohana API CSV layout -> HSDS 3.0 records (market-and-hsds.md §B.6; mapping table in README.md).

Ohana (Code for America, BSD-3) exports a pre-HSDS-1.0 layout: integer ids, comma lists in cells
(``locations.languages``), weekday names in ``regular_schedules``, taxonomy codes in ``services.taxonomy_ids``.
Python rather than a mapping file, because a few rules are not declarative: ages parsed out of eligibility
prose, holiday dates in two formats (and year 0001 meaning "every year"), services that find their organization
through their location.

Ids: ``uuid5(namespace, "ohana:<source_key>:<table>:<ohana id>")`` -- stable, so re-importing the same feed
updates by id. The Ohana id is also kept as an ``organization_identifier`` (scheme ``ohana``).
Coordinates come from the data (``geocode_source="data"``). Columns with no HSDS 3.0 slot are reported as
warnings (``admin_emails``, ``keywords``, ``accepted_payments``, ...), never silently dropped.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any

from resource_directory.importer import ReadResult, Record
from resource_directory.report import RowIssue
from resource_directory.taxonomy import (
    ID_NAMESPACE,
    OPEN_ELIGIBILITY_CSV,
    OPEN_ELIGIBILITY_TAXONOMY_ID,
    open_eligibility_term_id,
)

WEEKDAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
# Language names seen in Ohana feeds -> ISO 639-1 (639-3 where 639-1 has no code for the variety).
LANGUAGE_CODES = {
    "arabic": "ar",
    "cantonese": "yue",
    "chinese (cantonese)": "yue",
    "chinese (mandarin)": "cmn",
    "mandarin": "cmn",
    "chinese": "zh",
    "english": "en",
    "farsi": "fa",
    "french": "fr",
    "german": "de",
    "hindi": "hi",
    "italian": "it",
    "japanese": "ja",
    "korean": "ko",
    "portuguese": "pt",
    "russian": "ru",
    "spanish": "es",
    "tagalog": "tl",
    "taiwanese": "nan",
    "tongan": "to",
    "vietnamese": "vi",
}
# Ohana number_type -> RFC 6350 TYPE used by HSDS phone.type.
PHONE_TYPES = {"voice": "voice", "fax": "fax", "tty": "textphone", "sms": "text", "hotline": "voice", "cell": "cell"}
UNMAPPED_COLUMNS = {
    "organizations.csv": {"accreditations", "licenses"},
    "locations.csv": {"admin_emails", "email"},
    "services.csv": {"keywords", "accepted_payments"},
    "phones.csv": {"vanity_number"},
}

_AGE_RANGE = re.compile(r"\bages?\s*(\d{1,3})\s*(?:-|–|to|through)\s*(\d{1,3})", re.IGNORECASE)
_AGE_MIN = re.compile(r"\bages?\s*(\d{1,3})\s*(?:\+|or over|and over|or older|and older)", re.IGNORECASE)
_AGE_MAX = re.compile(r"\b(?:under|younger than)\s*(?:age\s*)?(\d{1,3})", re.IGNORECASE)


def parse_age_range(text: str | None) -> tuple[int | None, int | None]:
    """Youngest minimum / oldest maximum age stated in eligibility prose ("Age 55 or over", "Age 21-60",
    "under 18" -> max 17). Returns (None, None) when no age is stated."""
    if not text:
        return None, None
    mins: list[int] = []
    maxs: list[int] = []
    for lo, hi in _AGE_RANGE.findall(text):
        mins.append(int(lo))
        maxs.append(int(hi))
    mins += [int(m) for m in _AGE_MIN.findall(text)]
    maxs += [int(m) - 1 for m in _AGE_MAX.findall(text)]
    return (min(mins) if mins else None, max(maxs) if maxs else None)


def _parse_ohana_date(text: str) -> tuple[dt.date | None, bool]:
    """Ohana holiday dates: "January 01, 2015", "12/24/2015", "12/24/15". Returns (date, every_year) where
    year 0001 is Ohana's marker for a date that recurs every year."""
    text = text.strip()
    for fmt in ("%B %d, %Y", "%m/%d/%Y", "%m/%d/%y"):
        try:
            parsed = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return parsed, parsed.year == 1
    raise ValueError(f"unrecognised date {text!r}")


_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?$", re.IGNORECASE)


def normalize_time(text: str | None) -> str | None:
    """Ohana accepts "08:00", "4:00 PM", "3pm", "9am"; HSDS wants "HH:MM". Unknown forms pass through
    unchanged so that the importer refuses them with the original text in the reason."""
    if not text:
        return None
    match = _CLOCK.match(text.strip())
    if not match:
        return text
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3).lower()
    if not 1 <= hour <= 12 or minute > 59:
        return text
    hour = hour % 12 + (12 if half == "p" else 0)
    return f"{hour:02d}:{minute:02d}"


def _split(cell: str | None) -> list[str]:
    return [p.strip() for p in (cell or "").split(",") if p.strip()]


class _Ohana:
    def __init__(self, path: Path, source_key: str) -> None:
        self.path = path
        self.key = source_key
        self.result = ReadResult()

    def uid(self, table: str, ohana_id: str) -> str:
        return str(uuid.uuid5(ID_NAMESPACE, f"ohana:{self.key}:{table}:{ohana_id}"))

    def rows(self, name: str) -> list[tuple[int, dict[str, str]]]:
        file = self.path / name
        if not file.exists():
            return []
        with file.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            unmapped = sorted(UNMAPPED_COLUMNS.get(name, set()) & set(reader.fieldnames or []))
            if unmapped:
                self.result.warnings.append(
                    RowIssue(name, 1, "file", None, None, f"no HSDS 3.0 slot, not imported: {', '.join(unmapped)}")
                )
            out: list[tuple[int, dict[str, str]]] = []
            last = reader.line_num
            for row in reader:
                out.append((last + 1, {k: (v or "").strip() for k, v in row.items() if k is not None}))
                last = reader.line_num
            return out

    def add(self, table: str, values: dict[str, Any], file: str, row: int) -> Record:
        rec = Record(table, {k: v for k, v in values.items() if v not in (None, "")}, file, row=row)
        self.result.records.append(rec)
        return rec

    def ref(self, table: str, ohana_id: str) -> str | None:
        return self.uid(table, ohana_id) if ohana_id else None

    def read(self) -> ReadResult:
        location_org: dict[str, str] = {}
        for line, r in self.rows("organizations.csv"):
            org_id = self.uid("organization", r["id"])
            year = None
            if r.get("date_incorporated"):
                year = _parse_ohana_date(r["date_incorporated"])[0]
            self.add(
                "organization",
                {
                    "id": org_id,
                    "name": r.get("name"),
                    "alternate_name": r.get("alternate_name"),
                    "description": r.get("description"),
                    "email": r.get("email"),
                    "website": r.get("website"),
                    "legal_status": r.get("legal_status"),
                    "tax_status": r.get("tax_status"),
                    "tax_id": r.get("tax_id"),
                    "year_incorporated": year.year if year else None,
                },
                "organizations.csv",
                line,
            )
            self.add(
                "organization_identifier",
                {
                    "id": self.uid("organization_identifier", r["id"]),
                    "organization_id": org_id,
                    "identifier_scheme": "ohana",
                    "identifier_type": "ohana_id",
                    "identifier": r["id"],
                },
                "organizations.csv",
                line,
            )
            if r.get("funding_sources"):
                self.add(
                    "funding",
                    {
                        "id": self.uid("organization_funding", r["id"]),
                        "organization_id": org_id,
                        "source": r["funding_sources"],
                    },
                    "organizations.csv",
                    line,
                )
        for line, r in self.rows("programs.csv"):
            self.add(
                "program",
                {
                    "id": self.uid("program", r["id"]),
                    "organization_id": self.ref("organization", r.get("organization_id", "")),
                    "name": r.get("name"),
                    "alternate_name": r.get("alternate_name"),
                    # HSDS requires a program description; Ohana has none, so the name stands in.
                    "description": r.get("description") or r.get("name"),
                },
                "programs.csv",
                line,
            )
        for line, r in self.rows("locations.csv"):
            self._location(line, r)
            location_org[r["id"]] = r.get("organization_id", "")
        for name, address_type in (("addresses.csv", "physical"), ("mail_addresses.csv", "postal")):
            for line, r in self.rows(name):
                self.add(
                    "address",
                    {
                        "id": self.uid(address_type + "_address", r["id"]),
                        "location_id": self.ref("location", r.get("location_id", "")),
                        "attention": r.get("attention"),
                        "address_1": r.get("address_1"),
                        "address_2": r.get("address_2"),
                        "city": r.get("city"),
                        "state_province": r.get("state_province"),
                        "postal_code": r.get("postal_code"),
                        "country": r.get("country") or "US",
                        "address_type": address_type,
                    },
                    name,
                    line,
                )
        for line, r in self.rows("services.csv"):
            self._service(line, r, location_org)
        for line, r in self.rows("contacts.csv"):
            self.add(
                "contact",
                {
                    "id": self.uid("contact", r["id"]),
                    "location_id": self.ref("location", r.get("location_id", "")),
                    "organization_id": self.ref("organization", r.get("organization_id", "")),
                    "service_id": self.ref("service", r.get("service_id", "")),
                    "name": r.get("name"),
                    "title": r.get("title"),
                    "email": r.get("email"),
                    "department": r.get("department"),
                },
                "contacts.csv",
                line,
            )
        for line, r in self.rows("phones.csv"):
            number = r.get("number", "")
            if r.get("country_prefix"):
                number = f"{r['country_prefix']} {number}"
            rec = self.add(
                "phone",
                {
                    "id": self.uid("phone", r["id"]),
                    "contact_id": self.ref("contact", r.get("contact_id", "")),
                    "location_id": self.ref("location", r.get("location_id", "")),
                    "organization_id": self.ref("organization", r.get("organization_id", "")),
                    "service_id": self.ref("service", r.get("service_id", "")),
                    "number": number,
                    "extension": r.get("extension"),
                    "type": PHONE_TYPES.get(r.get("number_type", "").lower()),
                    "description": r.get("department") or ("hotline" if r.get("number_type") == "hotline" else None),
                },
                "phones.csv",
                line,
            )
            if r.get("number_type") and r["number_type"].lower() not in PHONE_TYPES:
                rec.issues.append(f"type: unknown Ohana number_type {r['number_type']!r}")
        for line, r in self.rows("regular_schedules.csv"):
            rec = self.add(
                "schedule",
                {
                    "id": self.uid("regular_schedule", r["id"]),
                    "location_id": self.ref("location", r.get("location_id", "")),
                    "service_id": self.ref("service", r.get("service_id", "")),
                    "freq": "WEEKLY",
                    "byday": WEEKDAYS.get(r.get("weekday", "").lower()),
                    "opens_at": normalize_time(r.get("opens_at")),
                    "closes_at": normalize_time(r.get("closes_at")),
                },
                "regular_schedules.csv",
                line,
            )
            if r.get("weekday", "").lower() not in WEEKDAYS:
                rec.issues.append(f"byday: unknown weekday {r.get('weekday')!r}")
        for line, r in self.rows("holiday_schedules.csv"):
            self._holiday(line, r)
        return self.result

    def _location(self, line: int, r: dict[str, str]) -> None:
        loc_id = self.uid("location", r["id"])
        description = r.get("description", "")
        short = r.get("short_desc", "")
        if short and short not in description:  # §B.6: short_desc has no slot -> prepend to description
            description = f"{short}\n\n{description}" if description else short
        self.add(
            "location",
            {
                "id": loc_id,
                "organization_id": self.ref("organization", r.get("organization_id", "")),
                "location_type": "virtual" if r.get("virtual", "").lower() == "true" else "physical",
                "name": r.get("name"),
                "alternate_name": r.get("alternate_name"),
                "description": description,
                "transportation": r.get("transportation"),
                "latitude": r.get("latitude"),
                "longitude": r.get("longitude"),
                "url": r.get("website"),
            },
            "locations.csv",
            line,
        )
        for name in _split(r.get("languages")):
            self._language(name, {"location_id": loc_id}, f"location:{r['id']}", "locations.csv", line)
        for item in _split(r.get("accessibility")):
            self.add(
                "accessibility",
                {
                    "id": self.uid("accessibility", f"{r['id']}:{item}"),
                    "location_id": loc_id,
                    "description": item.replace("_", " "),
                },
                "locations.csv",
                line,
            )

    def _language(self, name: str, owner: dict[str, str], key: str, file: str, line: int) -> None:
        rec = self.add(
            "language",
            {
                "id": self.uid("language", f"{key}:{name.lower()}"),
                "name": name,
                "code": LANGUAGE_CODES.get(name.lower()),
                **owner,
            },
            file,
            line,
        )
        if name.lower() not in LANGUAGE_CODES:
            self.result.warnings.append(rec.issue("code", f"no ISO 639 code known for language {name!r}; name kept"))

    def _service(self, line: int, r: dict[str, str], location_org: dict[str, str]) -> None:
        svc_id = self.uid("service", r["id"])
        org = location_org.get(r.get("location_id", ""), "")
        eligibility = r.get("eligibility", "")
        audience = r.get("audience", "")
        lo, hi = parse_age_range(eligibility)
        rec = self.add(
            "service",
            {
                "id": svc_id,
                "organization_id": self.ref("organization", org),
                "program_id": self.ref("program", r.get("program_id", "")),
                "name": r.get("name"),
                "alternate_name": r.get("alternate_name"),
                "description": r.get("description"),
                "url": r.get("website"),
                "email": r.get("email"),
                "status": r.get("status"),
                "interpretation_services": r.get("interpretation_services"),
                "application_process": r.get("application_process"),
                "fees_description": r.get("fees"),
                "wait_time": r.get("wait_time"),
                "eligibility_description": "\n".join(
                    p for p in (eligibility, f"Audience: {audience}" if audience else "") if p
                ),
                "minimum_age": lo,
                "maximum_age": hi,
            },
            "services.csv",
            line,
        )
        if not org:
            rec.issues.append(f"organization_id: location {r.get('location_id')!r} of this service has no organization")
        if r.get("location_id"):
            self.add(
                "service_at_location",
                {
                    "id": self.uid("service_at_location", r["id"]),
                    "service_id": svc_id,
                    "location_id": self.uid("location", r["location_id"]),
                },
                "services.csv",
                line,
            )
        for name in _split(r.get("languages")):
            self._language(name, {"service_id": svc_id}, f"service:{r['id']}", "services.csv", line)
        for area in _split(r.get("service_areas")):
            self.add(
                "service_area",
                {
                    "id": self.uid("service_area", f"{r['id']}:{area}"),
                    "service_id": svc_id,
                    "name": area,
                    "extent_type": "text",
                },
                "services.csv",
                line,
            )
        if r.get("required_documents"):
            self.add(
                "required_document",
                {
                    "id": self.uid("required_document", r["id"]),
                    "service_id": svc_id,
                    "document": r["required_documents"],
                },
                "services.csv",
                line,
            )
        if r.get("funding_sources"):
            self.add(
                "funding",
                {"id": self.uid("service_funding", r["id"]), "service_id": svc_id, "source": r["funding_sources"]},
                "services.csv",
                line,
            )
        for code in _split(r.get("taxonomy_ids")):
            oe_code = _oe_2014_code(self.path, code)
            if oe_code is None:
                self.result.warnings.append(
                    RowIssue(
                        "services.csv",
                        line,
                        "attribute",
                        None,
                        "taxonomy_ids",
                        f"taxonomy code {code!r} has no Open Eligibility 2014 term",
                    )
                )
                continue
            self.add(
                "attribute",
                {
                    "id": self.uid("attribute", f"{r['id']}:{code}"),
                    "link_id": svc_id,
                    "link_entity": "service",
                    "link_type": "service_type",
                    "taxonomy_term_id": open_eligibility_term_id(oe_code),
                },
                "services.csv",
                line,
            )
            self._needs_oe_term(oe_code)

    def _needs_oe_term(self, code: str) -> None:
        """Add the Open Eligibility term (and its ancestors) an attribute points at, so the feed is
        self-contained; identical to what ``load_open_eligibility`` writes, so either order works."""
        terms = _oe_2014_terms()
        if not any(rec.table == "taxonomy" for rec in self.result.records):
            self.result.records.append(
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
            )
        added = {rec.values["code"] for rec in self.result.records if rec.table == "taxonomy_term"}
        while code and code not in added:
            title, description, parent = terms[code]
            self.result.records.append(
                Record(
                    "taxonomy_term",
                    {
                        "id": open_eligibility_term_id(code),
                        "code": code,
                        "name": title,
                        "description": description or title,
                        "parent_id": open_eligibility_term_id(parent) if parent else None,
                        "taxonomy": "Open Eligibility",
                        "taxonomy_id": OPEN_ELIGIBILITY_TAXONOMY_ID,
                        "language": "en",
                    },
                    OPEN_ELIGIBILITY_CSV.name,
                )
            )
            added.add(code)
            code = parent

    def _holiday(self, line: int, r: dict[str, str]) -> None:
        rec = self.add(
            "schedule",
            {
                "id": self.uid("holiday_schedule", r["id"]),
                "location_id": self.ref("location", r.get("location_id", "")),
                "service_id": self.ref("service", r.get("service_id", "")),
            },
            "holiday_schedules.csv",
            line,
        )
        try:
            start, yearly = _parse_ohana_date(r.get("start_date", ""))
            end, _ = _parse_ohana_date(r.get("end_date") or r.get("start_date", ""))
        except ValueError as exc:
            rec.issues.append(f"valid_from: {exc}")
            return
        closed = r.get("closed", "").lower() == "true"
        span = start.strftime("%B %d") if start == end else f"{start:%B %d} to {end:%B %d}"
        if yearly:  # HSDS has no "every year on" rule for exceptions: describe it, leave the dates open
            rec.values["description"] = f"{'Closed' if closed else 'Special hours'} every year, {span}"
        else:
            rec.values["valid_from"] = start.isoformat()
            rec.values["valid_to"] = end.isoformat()
            rec.values["description"] = f"{'Closed' if closed else 'Holiday hours'} {start.isoformat()}" + (
                "" if start == end else f" to {end.isoformat()}"
            )
        if not closed:
            rec.values["opens_at"] = normalize_time(r.get("opens_at"))
            rec.values["closes_at"] = normalize_time(r.get("closes_at"))


_OE_TERMS: dict[str, tuple[str, str, str]] | None = None


def _oe_2014_terms() -> dict[str, tuple[str, str, str]]:
    global _OE_TERMS
    if _OE_TERMS is None:
        terms: dict[str, tuple[str, str, str]] = {}
        with OPEN_ELIGIBILITY_CSV.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row["id"] not in terms:
                    parent = row["parent_id"] if row["parent_id"] != row["id"] else ""
                    terms[row["id"]] = (row["title"].strip(), row["description"].strip(), parent)
        _OE_TERMS = terms
    return _OE_TERMS


def _oe_2014_code(feed: Path, ohana_code: str) -> str | None:
    """Translate an Ohana ``oe.json`` code (``108-05``) to the 2014 id with the same title under a parent
    with the same title, using the feed's ``taxonomy.csv`` (taxonomy_id, name, parent_id, parent_name)."""
    ohana_terms: dict[str, tuple[str, str]] = {}
    file = feed / "taxonomy.csv"
    if file.exists():
        with file.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                ohana_terms[row["taxonomy_id"]] = (row["name"].strip(), row.get("parent_name", "").strip())
    if ohana_code not in ohana_terms:
        return None
    name, parent_name = ohana_terms[ohana_code]
    terms = _oe_2014_terms()
    for code, (title, _desc, parent) in terms.items():
        parent_title = terms[parent][0] if parent in terms else ""
        if title == name and parent_title == parent_name:
            return code
    return None


def read_ohana(path: Path, *, source_key: str = "ohana") -> ReadResult:
    """Read an Ohana API CSV export directory (``organizations.csv``, ``locations.csv``, ``services.csv``, ...)."""
    return _Ohana(path, source_key).read()
