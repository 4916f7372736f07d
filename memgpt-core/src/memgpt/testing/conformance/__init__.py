"""The conformance suite: what every storage backend must do, as mixins a backend's tests combine.

:class:`BackendConformance` is the whole suite; each mixin is runnable alone
(for a backend in progress, or to run one part against a slow server):

=========================  ===============================================================
mixin                      what it checks
=========================  ===============================================================
ArchivalConformance        writes, reads, counts, deletes, vector search; declarations
RecallConformance          text and date searches, ordered and paged; memory-function paging
SourcesConformance         attached sources, shared by agents; several embedding models
AgentsConformance          the catalog: agent state and loaded sources
PersistenceConformance     records and shelves survive close and reopen
ConcurrencyConformance     several processes on one store; racing spec records
ScopeConformance           owners, users and tricky filter values stay apart
PartitionsConformance      a collection per owner: routing, merged answers, the one-time move
=========================  ===============================================================

The checks go through :class:`~memgpt.storage.Collection`, the same path
memgpt itself uses, so they test the backend together with the core's
validation. Tests for a record kind the backend does not declare are
skipped; instead, ``test_undeclared_kinds_are_refused`` checks that asking
for it fails clearly. Capabilities a connector does not declare are checked
the same way.
"""

from memgpt.testing.conformance.agents import AgentsConformance
from memgpt.testing.conformance.archival import ArchivalConformance
from memgpt.testing.conformance.base import ConformanceBase, StoreOpener
from memgpt.testing.conformance.concurrency import ConcurrencyConformance
from memgpt.testing.conformance.partitions import PartitionsConformance
from memgpt.testing.conformance.persistence import PersistenceConformance
from memgpt.testing.conformance.recall import RecallConformance
from memgpt.testing.conformance.scope import ScopeConformance
from memgpt.testing.conformance.sources import SourcesConformance


class BackendConformance(
    ArchivalConformance,
    RecallConformance,
    SourcesConformance,
    AgentsConformance,
    PersistenceConformance,
    ConcurrencyConformance,
    ScopeConformance,
    PartitionsConformance,
):
    """The whole suite: inherit from it in a ``Test...`` class and set ``backend_class`` and a ``backend_uri`` fixture
    (or override the ``backend`` and ``backend_settings`` fixtures)."""


__all__ = [
    "AgentsConformance",
    "ArchivalConformance",
    "BackendConformance",
    "ConcurrencyConformance",
    "ConformanceBase",
    "PartitionsConformance",
    "PersistenceConformance",
    "RecallConformance",
    "ScopeConformance",
    "SourcesConformance",
    "StoreOpener",
]
