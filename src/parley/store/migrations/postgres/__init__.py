"""The PostgreSQL store's schema: numbered SQL files, mirroring ``migrations/`` file by file.

A separate folder, because the two dialects differ where it matters (ids, collations), while
the numbering is shared: ``postgres/0002_x.sql`` is the PostgreSQL spelling of
``0002_x.sql``. Loaded with :func:`parley.store.migrations.load` on this package and applied
by :func:`parley.store.sql.migrate.apply_migrations`.
"""
