"""Geocoding as background jobs (issue 5, scope 4): an import enqueues ``directory.geocode_pending``; each run places
one batch of locations and enqueues the next, so a provider with a rate limit (Nominatim: 1 request/s) never holds
a request, a worker or — on SQLite — the write lock for long, and a crash loses at most one batch.

Locations the geocoder cannot place stay pending (``geocode_source`` NULL) and are reported by
``referral-hub directory geocode``; the batch chain skips them (they are the first pending ids, in id order) so it
always ends. At the end of the chain the FHIR projection follows (``Location.position``).
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from referral_hub.directory.fhir_sync import request_projection
from referral_hub.directory.settings import geocoder
from referral_hub.jobs import enqueue, job
from resource_directory.geocoding import geocode_pending

#: Locations per job run: about 3 minutes at Nominatim's 1 request/s, instant offline.
BATCH = 200


def request_geocoding(session: Session) -> None:
    """Enqueue the first batch in the caller's transaction (it runs after the commit that added locations)."""
    enqueue("directory.geocode_pending", session=session)


@job("directory.geocode_pending", queue="default")
def geocode_batch(session: Session, *, unmatched: int = 0) -> None:
    """Geocode the next batch of pending locations, skipping the ``unmatched`` ones earlier batches could not place;
    enqueue the next batch or, at the end, the FHIR projection. Idempotent: placed locations are no longer
    pending, so a re-run only retries what was not placed."""
    batch = int(current_app.config.get("DIRECTORY_GEOCODE_BATCH", BATCH))  # settings.py checks it
    report = geocode_pending(session, geocoder(current_app, session), batch, skip=unmatched)
    current_app.logger.info(
        "directory geocoding batch: %d placed, %d without a match", len(report.geocoded), len(report.not_found)
    )
    if len(report.geocoded) + len(report.not_found) >= batch:
        enqueue("directory.geocode_pending", session=session, unmatched=unmatched + len(report.not_found))
    else:
        request_projection(session)
