"""SDoH closed-loop referral hub (HL7 Gravity SDOH Clinical Care Coordination Platform)."""

from referral_hub.app import create_app

__all__ = ["create_app"]
