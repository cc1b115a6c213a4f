"""Moving a whole server's data in and out: ``parley export`` and ``parley import``.

* :mod:`~parley.transfer.parley_format`: Parley's own export, JSON lines (the format is
  documented there and in docs/architecture.md);
* :mod:`~parley.transfer.chat_import`: what the imports from other chat systems share (names
  made valid, the report, the rows of accounts, rooms, messages, threads, reactions, files);
* :mod:`~parley.transfer.slack`: Slack's export as the same rows, with
  :mod:`~parley.transfer.slack_archive` (its members) and
  :mod:`~parley.transfer.slack_text` (its markup as Parley text);
* :mod:`~parley.transfer.mattermost`: Mattermost's bulk export as the same rows, with
  :mod:`~parley.transfer.mattermost_lines` (its JSON lines),
  :mod:`~parley.transfer.mattermost_text` (its mentions),
  :mod:`~parley.transfer.time_spool` (its posts sorted by time on disk) and
  :mod:`~parley.transfer.archive_files` (its attachments' bytes as Parley files);
* :mod:`~parley.transfer.safe_zip`: reading an export's zip safely (both imports);
* :mod:`~parley.transfer.sink`: writing rows into an empty store, checked, in chunks;
* :mod:`~parley.transfer.jobs`: an import as a whole (begin, fill, finish, index);
* :mod:`~parley.transfer.claims`: the claim tokens of imported accounts;
* :mod:`~parley.transfer.progress`: progress on standard error, a line a second at most.

The store side (which tables, paging, inserting with ids) is
:mod:`parley.store.sql.transfer_ops`.
"""
