"""Referral workflow. Importing the package registers the per-Task status timeline (hook and job)."""

from __future__ import annotations

from referral_hub.referrals import timeline as timeline

__all__ = ["timeline"]
