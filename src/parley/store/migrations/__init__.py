"""The store's schema, as numbered SQL files: ``0001_initial.sql``, ``0002_...``.

A file is never edited once released: a change to the schema is a new file with the next
number. Each backend records the versions it applied in its ``schema_migrations`` table and,
at start-up, applies the pending ones in order, each in its own transaction (see
:func:`parley.store.sql.migrate.apply_migrations`). The files ship inside the package, so they are
read with :mod:`importlib.resources`, which works from a wheel or a zip as well as from a
source tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

#: ``NNNN_some_name.sql``: the number is the version.
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str  #: the file name, for messages
    sql: str


def load(package: str = __name__) -> list[Migration]:
    """Every migration file of ``package``, in version order.

    Raises :class:`ValueError` when two files claim the same version: applying either one
    would silently skip the other.
    """
    found: dict[int, Migration] = {}
    for entry in resources.files(package).iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None or not entry.is_file():
            continue
        version = int(match.group(1))
        if version in found:
            other = found[version].name
            raise ValueError(f"two migrations with version {version}: {other}, {entry.name}")
        found[version] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    return [found[version] for version in sorted(found)]


__all__ = ["Migration", "load"]
