"""Screening instruments and pure scoring/extraction for the SDoH referral hub.

FHIR R4 Questionnaires (AHC HRSN core and supplemental, Hunger Vital Sign) with rule tables as data, and
pure functions: QuestionnaireResponse in → findings (positive domains, scores) and the Gravity SDOHCC
Observations and Conditions to store.  No Flask, no database, no network, nothing read at import time.

Typical use::

    instrument = instrument_for_response(qr)          # or get_instrument(url, version)
    result = extract(qr, instrument)                  # raises ResponseError on bad input
    result.findings.positive_domains                  # ('food-insecurity', ...)
    result.resources                                  # Observations + Conditions, deterministic ids
"""

from questionnaires.errors import InstrumentError, InstrumentNotFound, QuestionnairesError, ResponseError
from questionnaires.extraction import Extraction, extract, resource_id
from questionnaires.loader import (
    Instrument,
    build_instrument,
    get_instrument,
    instrument_for_response,
    list_instruments,
    load_instrument,
)
from questionnaires.rules import RuleTable
from questionnaires.scoring import DomainFinding, Evidence, Findings, ItemResult, ScoreResult, score

__all__ = [
    "DomainFinding",
    "Evidence",
    "Extraction",
    "Findings",
    "Instrument",
    "InstrumentError",
    "InstrumentNotFound",
    "ItemResult",
    "QuestionnairesError",
    "ResponseError",
    "RuleTable",
    "ScoreResult",
    "build_instrument",
    "extract",
    "get_instrument",
    "instrument_for_response",
    "list_instruments",
    "load_instrument",
    "resource_id",
    "score",
]
