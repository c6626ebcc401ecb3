"""Device descriptions: which runtime times a model, at what precision, and how to reach the device.

A device is a YAML file in the repository's ``devices/``, or in a folder named by
``$HWNAS_DEVICES_DIR`` (searched first); ``--device`` takes its name, one of its aliases or
a path to a YAML file. A ``devices/`` folder in the current directory is *not* searched:
running hwnas inside an untrusted folder must not swap a shipped device for that folder's
(whose ssh settings would then run); a device that shadows a shipped one by name or alias
is announced on stderr. Every field is checked on load and an error names the file and
the field, e.g. ``devices/x.yaml: field 'precision' must be one of fp32, fp16, int8,
got 'fp8'``.
The fields and their checks live in :mod:`hwnas.device_file`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hwnas.device_file import (  # noqa: F401  (re-exported: the public device API)
    CONNECTIONS,
    GRAPH_OPTIMIZATIONS,
    PRECISIONS,
    SAFE_SSH_OPTIONS,
    Device,
    SSHSettings,
    load_device_file,
    parse_device,
)
from hwnas.errors import HwnasError, UnknownName, UsageError

DEFAULT_DEVICE = "host-cpu"
REPO_ROOT = Path(__file__).resolve().parents[1]


# ---- finding devices ------------------------------------------------------------------------
def device_dirs() -> list[Path]:
    """Folders searched for ``*.yaml``, first match wins: $HWNAS_DEVICES_DIR (explicit), then the repo's."""
    dirs = [Path(p) for p in os.environ.get("HWNAS_DEVICES_DIR", "").split(os.pathsep) if p]
    dirs += [REPO_ROOT / "devices"]
    unique: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def device_files() -> list[tuple[Path, Device | HwnasError]]:
    """Every device file found, one per name (the first folder wins), sorted by name: the device,
    or the error that stopped it from loading (named by the file's stem), so that one broken file
    is reported where it is asked about instead of breaking every command."""
    found: dict[str, tuple[Path, Device | HwnasError]] = {}
    for folder in device_dirs():
        for path in sorted(folder.glob("*.yaml")):
            try:
                loaded: Device | HwnasError = load_device_file(path)
            except HwnasError as exc:
                loaded = exc
            name = loaded.name if isinstance(loaded, Device) else path.stem
            found.setdefault(name, (path, loaded))
    return [found[name] for name in sorted(found)]


def list_devices() -> list[Device]:
    """Every device that loads, one per name, sorted by name (``hwnas devices`` shows the others)."""
    return [d for _, d in device_files() if isinstance(d, Device)]


def load_device(name_or_path: str | os.PathLike[str] | Device = DEFAULT_DEVICE) -> Device:
    """A device by name, alias or YAML path; unknown names raise UnknownName listing the known ones."""
    if isinstance(name_or_path, Device):
        return name_or_path
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or os.sep in text:
        path = Path(text).expanduser()
        if not path.is_file():
            raise UsageError(f"device file {text} does not exist")
        return load_device_file(path)
    files = device_files()
    broken = next((e for p, e in files if isinstance(e, HwnasError) and p.stem == text), None)
    if broken is not None:  # the file the name points at does not load: its own error, not "unknown"
        raise broken
    devices = [d for _, d in files if isinstance(d, Device)]
    chosen = next((d for d in devices if d.name == text), None) or next((d for d in devices if text in d.aliases), None)
    if chosen is not None:
        _announce_shadowing(chosen)
        return chosen
    known = ", ".join(d.name for d in devices) or "none"
    raise UnknownName(f"unknown device {text!r} (known: {known}; or give a path to a .yaml file)")


_ANNOUNCED: set[str] = set()


def _announce_shadowing(device: Device) -> None:
    """One stderr line when a device from $HWNAS_DEVICES_DIR hides a shipped device of the same name."""
    shipped = REPO_ROOT / "devices"
    source = Path(device.source) if device.source else None
    if source is None or source.resolve().parent == shipped.resolve() or device.name in _ANNOUNCED:
        return
    if (shipped / f"{device.name}.yaml").exists():
        _ANNOUNCED.add(device.name)
        sys.stderr.write(
            f"note: device {device.name!r} comes from {source} ($HWNAS_DEVICES_DIR), "
            f"not the shipped {shipped / (device.name + '.yaml')}\n"
        )
