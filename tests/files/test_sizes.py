"""Sizes as an upload error says them to people (files/sizes.py)."""

from __future__ import annotations

import pytest

from parley.files.sizes import readable, readable_pair


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (400_000, "391 KiB"),
        (99 * 1024 + 1000, "100 KiB"),
        (25 << 20, "25 MiB"),
        ((25 << 20) + (1 << 19), "25.5 MiB"),
        (3 << 30, "3 GiB"),
        (5 << 40, "5120 GiB"),
    ],
)
def test_readable(size: int, shown: str) -> None:
    assert readable(size) == shown


def test_a_pair_that_would_read_the_same_is_given_exactly() -> None:
    assert readable_pair(400_000, 300_000) == ("391 KiB", "293 KiB")
    assert readable_pair(1_500, 1 << 20) == ("1.5 KiB", "1 MiB")
    assert readable_pair(307_201, 307_200) == ("307,201 bytes", "307,200 bytes")
