"""The documents the stages hand each other, as frozen records: one schema package.

- the block latency table (:class:`TableHeader` + :class:`TableEntry` per block), with its
  :class:`Calibration`, :class:`ProfileLog` and :class:`Validation` (``latency_tables/*.json``);
- the search's winner, :class:`BestRecord` (``best.json``);
- the model card, :class:`ModelCard` (``model_card.json``; the README is rendered from it).

Every record has ``to_json()`` (a JSON-ready dict with the keys and key order the files
have always had; the top-level documents add ``schema_version``) and ``from_json()``,
which also reads files written before the records existed (no ``schema_version``, optional
keys missing). A stage that changes a document builds a new record
(:func:`dataclasses.replace` or a ``with_*`` method); nothing edits a loaded dict in place.
Nested parts that are free-form by nature (a device description, a runtime's ``describe()``,
an artifact's parity figures) stay plain mappings inside the record and are copied, not shared.

The records live in one module per document (:mod:`~hwnas.records.latency`,
:mod:`~hwnas.records.search`, :mod:`~hwnas.records.card`, with the shared helpers in
:mod:`~hwnas.records.base`); import them from here: ``from hwnas.records import TableEntry``.
"""

from __future__ import annotations

from hwnas.records.base import SCHEMA_VERSION, Json
from hwnas.records.card import CARD_VERSION, ArtifactCard, Int8Speedup, LatencyCheck, ModelCard
from hwnas.records.latency import (
    SOURCES,
    TABLE_KIND,
    Calibration,
    FewShot,
    ProfileLog,
    ProfileRun,
    TableEntry,
    TableHeader,
    Validation,
    ValidationSample,
)
from hwnas.records.search import BestRecord

__all__ = [
    "CARD_VERSION",
    "SOURCES",
    "SCHEMA_VERSION",
    "TABLE_KIND",
    "ArtifactCard",
    "BestRecord",
    "Calibration",
    "FewShot",
    "Int8Speedup",
    "Json",
    "LatencyCheck",
    "ModelCard",
    "ProfileLog",
    "ProfileRun",
    "TableEntry",
    "TableHeader",
    "Validation",
    "ValidationSample",
]
