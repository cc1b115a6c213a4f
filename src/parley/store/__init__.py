"""Persistence: the Store interface and its implementations."""
