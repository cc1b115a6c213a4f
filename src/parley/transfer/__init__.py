"""Moving a whole server's data in and out: ``parley export`` and ``parley import``.

* :mod:`~parley.transfer.parley_format`: Parley's own export, JSON lines (the format is
  documented there and in docs/architecture.md);
* :mod:`~parley.transfer.slack`: reading Slack's export (a zip) as the same rows;
* :mod:`~parley.transfer.sink`: writing rows into an empty store, checked, in chunks;
* :mod:`~parley.transfer.claims`: the claim tokens of imported accounts;
* :mod:`~parley.transfer.progress`: progress on standard error, a line a second at most.

The store side (which tables, paging, inserting with ids) is
:mod:`parley.store.sql.transfer_ops`.
"""
