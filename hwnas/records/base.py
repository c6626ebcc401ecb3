"""What every record shares: the schema version, the JSON type, and copying helpers."""

from __future__ import annotations

import copy
from typing import Any

SCHEMA_VERSION = 1

Json = dict[str, Any]


def plain(value: Any) -> Any:
    """A deep copy of a JSON value, so a record never shares a mutable part with its source."""
    return copy.deepcopy(value)


def omit_none(data: Json, *keys: str) -> Json:
    return {k: v for k, v in data.items() if not (k in keys and v is None)}
