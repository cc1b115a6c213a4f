"""Helpers of the benchmarks in ``bench/``: a lean WebSocket client, the server process, reports.

They live here, not in ``src/``, because they exist to measure Parley, not to be part of it.
"""
