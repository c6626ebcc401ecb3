"""Requests and replies of the on-device runner (JSON lines), and its command line.

Protocol (``python3 runner.pyz serve``): one JSON request per line on stdin, one JSON
reply per line on stdout, in order::

    {"op": "ping"}
    {"op": "describe", "runtime": R, "options": {...}}
    {"op": "measure", "runtime": R, "path": P, "input_shape": [1, 3, 224, 224],
     "options": {...}, "timing": {...}}
    {"op": "exit"}

``R`` is a registered runtime (``hwnas.runtimes``); ``P`` is what its host side prepared
(an ONNX or ``.ort`` file, an ``.mlpackage``, a serialised TensorRT ``.engine`` / ``.plan``).
``options``: ``precision``, ``threads``, ``provider`` and ``graph_optimization``.
``timing``: every key of :data:`hwnas.ondevice.core.TIMING_KEYS` (warm up for at least
``warmup_runs`` and ``warmup_s``, then time runs until both ``min_runs`` and
``min_time_s`` are reached), always sent in full by the host. A reply has
``"ok": true`` and the result, or ``"ok": false`` with a one-line ``error`` and
``"missing": true`` when the runtime itself is not installed. Replies of ``measure``
carry the raw per-run samples in milliseconds (``samples_ms``), the seconds spent in the
timed runs (``timed_s``) and in loading, building and warming up (``setup_s``).

Each runtime's device module (``hwnas.runtimes.<name>.device``) provides
``measure(path, input_shape, options, timing)`` and ``describe(options)``; the runner
learns which modules exist from the caller (the zipapp's ``__main__``, or the host's
runtime registry in-process), so this file names no runtime.

Standard library only: this module runs on the device inside the runner zipapp.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from hwnas.ondevice.core import TIMING_KEYS, RuntimeMissing
from hwnas.ondevice.machine import fingerprint

PROTOCOL_VERSION = 1


def handle(request: dict[str, Any], runtimes: Mapping[str, str]) -> dict[str, Any]:
    """Answer one request; ``runtimes`` maps runtime names to their device modules. Never raises:
    failures become ``"ok": false`` replies."""
    op = request.get("op")
    try:
        if op == "exit":
            return {"ok": True}
        if op == "ping":
            return {"ok": True, "protocol": PROTOCOL_VERSION}
        runtime = request.get("runtime")
        if not isinstance(runtime, str) or runtime not in runtimes:
            return {"ok": False, "error": "unknown runtime {!r} (known: {})".format(runtime, ", ".join(runtimes))}
        module = importlib.import_module(runtimes[runtime])
        options = request.get("options") or {}
        if op == "describe":
            return {
                "ok": True,
                "protocol": PROTOCOL_VERSION,
                "runtime": module.describe(options),
                "host": fingerprint(),
            }
        if op == "measure":
            path = request["path"]
            if not os.path.exists(path):
                return {"ok": False, "error": f"model file {path} does not exist on the device"}
            timing = request.get("timing") or {}
            lacking = [k for k in TIMING_KEYS if k not in timing]
            if lacking:
                missing = ", ".join(lacking)
                return {"ok": False, "error": f"the request's timing lacks {missing} (the host sends every setting)"}
            result = module.measure(path, request["input_shape"], options, timing)
            result["ok"] = True
            return result
        return {"ok": False, "error": f"unknown op {op!r}"}
    except RuntimeMissing as exc:
        return {"ok": False, "missing": True, "error": str(exc)}
    except Exception as exc:  # the host turns this into a DeviceError naming the model
        text = str(exc).strip().splitlines()
        return {"ok": False, "error": "{}: {}".format(type(exc).__name__, text[0] if text else "")}


def serve(runtimes: Mapping[str, str]) -> None:
    """Answer requests from stdin until ``exit`` or end of input.

    Runtimes print to stdout from C code; the reply channel is a private duplicate of
    the original stdout and fd 1 is pointed at stderr, so replies stay parseable.
    """
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except ValueError:
            reply = {"ok": False, "error": "request is not JSON"}
            request = {}
        else:
            reply = handle(request, runtimes)
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
        if request.get("op") == "exit":
            break


def main(runtimes: Mapping[str, str], argv: list[str] | None = None) -> int:
    """``runner.pyz serve`` or ``runner.pyz describe RUNTIME``."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["serve"]:
        serve(runtimes)
        return 0
    if args[:1] == ["describe"] and len(args) == 2:
        print(json.dumps(handle({"op": "describe", "runtime": args[1], "options": {}}, runtimes), indent=2))
        return 0
    sys.stderr.write("usage: runner.pyz serve | runner.pyz describe RUNTIME\n")
    return 2
