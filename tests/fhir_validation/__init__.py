"""Tests of referral_hub.fhir.validation."""
