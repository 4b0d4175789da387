"""The hub's own directory table: one row per "is this listing still correct?" e-mail (issue 5, scope 8).

Why a row per e-mail: it makes the link **single-use** (the signed token names the row; answering stamps it),
keeps the contact's "needs changes" note for the directory administrator, and stops the job from asking the
same contact again before ``DIRECTORY_RESEND_AFTER_DAYS``. The HSDS tables stay pure HSDS; a confirmation
also writes the HSDS ``metadata`` change log there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from referral_hub.db_types import BigIntPK, UTCDateTime, utcnow
from referral_hub.extensions import db

ANSWERS = ("confirmed", "needs_changes")


class ListingCheck(db.Model):
    """A verification request sent to one contact of one service."""

    __tablename__ = "directory_listing_check"
    __table_args__ = (
        CheckConstraint("answer IS NULL OR answer IN ('confirmed', 'needs_changes')", name="answer"),
        Index("ix_directory_listing_check_service_email", "service_id", "email"),
        Index("ix_directory_listing_check_answer_handled", "answer", "handled_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    #: ``hsds_service.id`` (no foreign key: the HSDS tables belong to feeds, which may delete and re-create rows).
    service_id: Mapped[str] = mapped_column(String(36))
    #: The listing contact's work address (an organization contact, not patient data).
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(16))
    #: What the contact says needs changing (for the directory administrator).
    note: Mapped[str | None] = mapped_column(Text)
    #: When an administrator dealt with a "needs changes" answer.
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


__all__ = ["ANSWERS", "ListingCheck"]
