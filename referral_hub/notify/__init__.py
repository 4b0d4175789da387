"""Outgoing messages (email now; SMS and portal notices belong here too)."""
