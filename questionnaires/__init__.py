"""Screening instruments (placeholder until the public API lands)."""
