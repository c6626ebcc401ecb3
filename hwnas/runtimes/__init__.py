"""Runtimes by name: one folder each (``hwnas/runtimes/<name>/``: host.py, device.py, export.py).

To add a runtime ``foo``:

1. make ``hwnas/runtimes/foo/`` with ``__init__.py`` (a docstring), ``host.py`` (a
   :class:`~hwnas.runtimes.base.Runtime` subclass: name, precisions, default provider,
   ``check_settings``, ``prepare``), ``device.py`` (``measure`` and ``describe``, standard
   library + the runtime only) and ``export.py`` (its writers in ``WRITERS``, or an empty
   tuple);
2. add one import line below (``host.py`` registers its class with ``@RUNTIMES.register("foo")``);
3. describe a device that uses it in ``devices/<device>.yaml`` (``runtime: foo``).

Nothing else changes: device files accept the runtime, the runner zipapp packs its
``device.py``, ``hwnas export`` offers its formats, and the conformance tests in
``tests/runtimes`` iterate this registry. The registry order is the order device-file
errors list the runtimes in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwnas.runtimes.base import RUNTIMES, Runtime

if TYPE_CHECKING:
    from hwnas.devices import Device

# one line per runtime (registration by @RUNTIMES.register in its host.py), in this order
from hwnas.runtimes.onnxruntime import host as _onnxruntime  # noqa: E402,F401,I001
from hwnas.runtimes.tensorrt import host as _tensorrt  # noqa: E402,F401,I001
from hwnas.runtimes.coreml import host as _coreml  # noqa: E402,F401,I001
from hwnas.runtimes.litert import host as _litert  # noqa: E402,F401,I001
from hwnas.runtimes.openvino import host as _openvino  # noqa: E402,F401,I001


def get_runtime(device: Device) -> Runtime:
    """The runtime of ``device``, bound to it (its precision checked)."""
    return RUNTIMES.get(device.runtime)(device)


def device_modules() -> dict[str, str]:
    """Runtime name -> its device module, what the runner (``hwnas.ondevice``) dispatches to."""
    return {name: RUNTIMES.get(name).device_module() for name in RUNTIMES}


__all__ = ["RUNTIMES", "Runtime", "device_modules", "get_runtime"]
