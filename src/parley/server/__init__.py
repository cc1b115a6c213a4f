"""HTTP and WebSocket glue: the only layer that touches sockets and aiohttp."""
