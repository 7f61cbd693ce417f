"""Ingest: node messages from a broker or the in-process bus, validated, stored idempotently, or
quarantined with a counted reason; the broker's password and ACL files."""
