"""One SQL store for every database: each operation written once, each dialect in its engine.

* :mod:`~parley.store.sql.engine`: the connection every operation is written for, and the
  :class:`~parley.store.sql.engine.Engine` that holds what differs between databases;
* :mod:`~parley.store.sql.operations`: every store operation, SQL included;
* :mod:`~parley.store.sql.batch`: group commit, the one write path;
* :mod:`~parley.store.sql.store`: the :class:`~parley.store.base.Store` methods;
* :mod:`~parley.store.sql.migrate`: bringing the schema up to date.

The backends, :mod:`parley.store.sqlite` and :mod:`parley.store.postgres`, keep only what
truly differs: their engine, connecting, threads or pools, and what to do when the database
is lost.
"""
