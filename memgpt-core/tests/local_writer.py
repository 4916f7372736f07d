"""A writer process for the local backend's multi-process tests.

    python local_writer.py ROOT AGENT FIRST_BATCH BATCHES BATCH_SIZE

writes BATCHES batches (forever if BATCHES is 0) of archival passages for
AGENT, printing each finished batch number, so a test can kill it mid-write.
"""

from __future__ import annotations

import sys

from memgpt.default_plugins.local_backend import LocalBackend
from memgpt.kinds import Table
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where
from memgpt.testing import make_record


def main() -> None:
    root, agent, first, batches, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    backend = LocalBackend()
    store = backend.open({"path": root})
    collection = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
    batch = first
    while batches == 0 or batch < first + batches:
        records = [make_record(Table.ARCHIVAL, batch * size + i, owner=agent) for i in range(size)]
        collection.insert(records)
        print(batch, flush=True)
        batch += 1
    store.close()


if __name__ == "__main__":
    main()
