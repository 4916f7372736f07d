"""The local backend: SQLite files under ``MEMGPT_HOME`` and exact numpy vector search.

Layout (as the original MemGPT documented it)::

    $MEMGPT_HOME/
      local.sqlite                 embedding model/dimension per table, schema version
      agents/<agent>/memory.sqlite agent state, archival memory, recall memory (+ full-text index)
      archival/<source>/source.sqlite  a loaded data source: its catalog entry and passages

Each agent and each data source is a *partition*: its own SQLite database (rollback
journal, ``synchronous=FULL``, 16 KiB pages), written in ``BEGIN IMMEDIATE``
transactions, one per batch, so a killed process (or a power cut) loses at most
its uncommitted batch and several processes can share a home. Vectors are searched in memory by :class:`~memgpt.storage.vectors.VectorIndex`,
loaded once per partition and kept current by this process's writes; writes
by other processes are noticed through SQLite's ``data_version`` and reloaded.
"""
