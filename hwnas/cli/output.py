"""Where CLI output goes: data to stdout, progress and logs to stderr, one JSON document with --json."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

from hwnas.io import _json_default

stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


def emit_json(data: Any) -> None:
    """Print exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=_json_default) + "\n")
    sys.stdout.flush()


def log(message: str) -> None:
    stderr.print(message)
