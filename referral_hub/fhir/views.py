"""FHIR REST blueprint (placeholder until the REST layer lands)."""

from flask import Blueprint

bp = Blueprint("fhir", __name__)
