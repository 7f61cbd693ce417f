"""HTTP and WebSocket routes of the backend, one module per area."""
