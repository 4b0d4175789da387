"""SDoH closed-loop referral hub (Gravity Coordination Platform)."""
