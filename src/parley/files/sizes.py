"""Sizes in bytes as people read them (an upload error, the terminal): ``"390.6 KiB"``.

Binary units, because the limits are set that way (``--max-upload 25MiB``, config.py's
``Size``): a limit an operator wrote as ``25MiB`` reads back as ``25 MiB``, not as
``26.2 MB``. Errors keep the exact numbers in fields of their own for programs; these
strings are for people. No I/O.
"""

from __future__ import annotations

from typing import Final

_UNITS: Final = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


def readable(size: int) -> str:
    """``size`` bytes in the largest unit it reaches, to one decimal (none when whole, or
    from 100 up): ``"512 bytes"``, ``"1 KiB"``, ``"390.6 KiB"``, ``"25 MiB"``."""
    for unit, scale in _UNITS:
        if size >= scale:
            value = size / scale
            shown = f"{value:.0f}" if value >= 100 else f"{value:.1f}".removesuffix(".0")
            return f"{shown} {unit}"
    return "1 byte" if size == 1 else f"{size} bytes"


def readable_pair(size: int, limit: int) -> tuple[str, str]:
    """``size`` and ``limit`` as :func:`readable` says them, or both exact (``"307,201
    bytes"``) when rounding would make them read the same: an error must show the
    difference it is about."""
    shown = readable(size), readable(limit)
    if shown[0] != shown[1]:
        return shown
    return f"{size:,} bytes", f"{limit:,} bytes"
