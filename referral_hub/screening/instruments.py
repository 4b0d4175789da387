"""Which instruments the hub can score: the shipped ones plus those customers loaded."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import yaml
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from questionnaires import Instrument, InstrumentError, build_instrument, list_instruments
from referral_hub.db_types import utcnow
from referral_hub.fhir.store import ResourceStore
from referral_hub.screening.models import CustomInstrument


def available_instruments(session: Session) -> list[Instrument]:
    """Shipped instruments first; a customer instrument with the same url|version replaces the shipped one."""
    return _with_custom(list_instruments(), session.execute(select(CustomInstrument)).scalars())


def instrument_for(session: Session, canonical: str | None) -> Instrument | None:
    """The instrument a QuestionnaireResponse's ``questionnaire`` canonical (``url`` or ``url|version``) names.

    Runs on every stored response: only the customer instruments with that url are read and built (building
    one validates its Questionnaire and rule table), not every instrument the hub holds.
    """
    if not canonical:
        return None
    url, _, version = canonical.partition("|")
    if version:
        rows = session.connection().execute(_CUSTOM_BY_URL_VERSION, {"url": url, "version": version})
    else:
        rows = session.connection().execute(_CUSTOM_BY_URL, {"url": url})
    shipped = [i for i in list_instruments() if i.url == url and (not version or i.version == version)]
    candidates = _with_custom(shipped, rows)
    return candidates[-1] if candidates else None


# Built once; run on the session's connection (same transaction) without an ORM round per stored response.
_CUSTOM_COLUMNS = (
    CustomInstrument.url,
    CustomInstrument.version,
    CustomInstrument.questionnaire,
    CustomInstrument.rules,
)
_CUSTOM_BY_URL = select(*_CUSTOM_COLUMNS).where(CustomInstrument.url == bindparam("url"))
_CUSTOM_BY_URL_VERSION = _CUSTOM_BY_URL.where(CustomInstrument.version == bindparam("version"))


class _InstrumentRow(Protocol):
    url: str
    version: str
    questionnaire: dict[str, Any]
    rules: dict[str, Any]


def _with_custom(shipped: list[Instrument], rows: Iterable[_InstrumentRow]) -> list[Instrument]:
    """``shipped`` minus those a customer row replaces (same url|version), then the customer instruments."""
    custom = [build_instrument(row.questionnaire, row.rules, where=f"{row.url}|{row.version}") for row in rows]
    custom_keys = {(i.url, i.version) for i in custom}
    return [i for i in shipped if (i.url, i.version) not in custom_keys] + custom


def questionnaire_resource_id(instrument: Instrument) -> str:
    """Stable store id of an instrument's Questionnaire, so syncing twice updates instead of duplicating."""
    return f"{instrument.key}-{instrument.version}".replace("|", "-").replace(" ", "-")[:64]


def sync_instruments(session: Session, store: ResourceStore) -> int:
    """Upsert every available instrument's Questionnaire into the FHIR store (``Questionnaire?url&version``)."""
    count = 0
    for instrument in available_instruments(session):
        body = dict(instrument.questionnaire)
        body["id"] = questionnaire_resource_id(instrument)
        existing = _existing(store, body["id"])
        if existing is not None and _same(existing, body):
            continue
        store.update("Questionnaire", body["id"], body, workflow=False)
        count += 1
    return count


def _existing(store: ResourceStore, resource_id: str) -> dict[str, Any] | None:
    from referral_hub.fhir.outcomes import FhirError

    try:
        return store.read("Questionnaire", resource_id).body
    except FhirError:
        return None


def _same(stored: dict[str, Any], body: dict[str, Any]) -> bool:
    strip = lambda r: {k: v for k, v in r.items() if k != "meta"}  # noqa: E731
    return strip(stored) == strip(body) and (stored.get("meta") or {}).get("profile") == (body.get("meta") or {}).get(
        "profile"
    )


def load_custom_instrument(session: Session, store: ResourceStore, questionnaire: Path, rules: Path) -> Instrument:
    """Validate and register a customer instrument; its Questionnaire becomes searchable in the store.

    :raises InstrumentError: listing every problem found in the Questionnaire or the rule table.
    """
    from questionnaires import load_instrument

    instrument = load_instrument(questionnaire, rules)
    rules_data = yaml.safe_load(rules.read_text())
    if not isinstance(rules_data, dict):
        raise InstrumentError([f"{rules.name}: the rule file must be a mapping"])
    row = session.execute(
        select(CustomInstrument).where(
            CustomInstrument.url == instrument.url, CustomInstrument.version == instrument.version
        )
    ).scalar_one_or_none()
    if row is None:
        row = CustomInstrument(url=instrument.url, version=instrument.version)
        session.add(row)
    row.key = instrument.key
    row.questionnaire = instrument.questionnaire
    row.rules = rules_data
    row.loaded_at = utcnow()
    session.flush()
    body = dict(instrument.questionnaire, id=questionnaire_resource_id(instrument))
    store.update("Questionnaire", body["id"], body, workflow=False)
    return instrument
