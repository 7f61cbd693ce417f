"""Live push: WebSocket fan-out to dashboard clients, and the optional Redis cache that
replicas share."""
