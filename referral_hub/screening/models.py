"""Instruments loaded by customers (bring your own licensed instrument, e.g. PRAPARE under a NACHC licence)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from referral_hub.db_types import BigIntPK, JSONDocument, UTCDateTime
from referral_hub.extensions import db


class CustomInstrument(db.Model):
    """A Questionnaire plus its scoring rule table, as loaded by ``referral-hub questionnaires load``."""

    __tablename__ = "screening_instrument"
    __table_args__ = (UniqueConstraint("url", "version", name="uq_screening_instrument_url_version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(512))
    version: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    questionnaire: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
