"""WebSocket framing and handshake without I/O (RFC 6455)."""
