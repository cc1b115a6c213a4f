"""Parley: a real-time chat server grown from the classic WebSocket tutorial."""

__version__ = "0.1.0"
