"""The runner zipapp: ``hwnas.ondevice`` plus every registered runtime's ``device.py`` (and the modules
of its own folder that it imports, e.g. ``tensorrt/trtexec.py``), one file.

The archive mirrors the package paths (``hwnas/ondevice/...``,
``hwnas/runtimes/<name>/device.py``) with empty ``__init__.py`` files above them, so the
device modules import ``hwnas.ondevice.core`` the same way in-process and on the device,
and nothing else of hwnas (torch, yaml, the host sides) comes along. Its ``__main__``
holds the runtime -> module map, so the runner itself names no runtime. Built with the
standard library's :mod:`zipapp`; runs on Python >= 3.8 with no install.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import io
import shutil
import tempfile
import zipapp
from pathlib import Path

from hwnas.runtimes import device_modules

ONDEVICE = "hwnas.ondevice"
_MAIN = '''"""hwnas on-device runner (built by hwnas.transport.zipapp): runner.pyz serve | describe RUNTIME."""
import sys

from hwnas.ondevice.protocol import main

RUNTIMES = {runtimes!r}

if __name__ == "__main__":
    sys.exit(main(RUNTIMES))
'''


def _source(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"cannot find the source of {module}")
    return Path(spec.origin)


def _package_imports(module: str) -> list[str]:
    """The modules of ``module``'s own package that it imports (top level or inside functions)."""
    package = module.rsplit(".", 1)[0]
    folder = _source(module).parent
    found: list[str] = []
    for node in ast.walk(ast.parse(_source(module).read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            rest = name[len(package) + 1 :] if name.startswith(package + ".") else ""
            if rest and "." not in rest and (folder / f"{rest}.py").is_file():
                found.append(name)
    return found


def _device_side(module: str) -> list[str]:
    """``module`` and, transitively, the modules of its package it imports."""
    todo, seen = [module], [module]
    while todo:
        for name in _package_imports(todo.pop()):
            if name not in seen:
                seen.append(name)
                todo.append(name)
    return seen


def archive_members() -> dict[str, Path | None]:
    """Archive path -> source file (None: an empty ``__init__.py``), for the current runtime registry."""
    members: dict[str, Path | None] = {}
    ondevice = _source(ONDEVICE).parent
    for path in sorted(ondevice.glob("*.py")):
        members[f"hwnas/ondevice/{path.name}"] = path
    for device_module in device_modules().values():
        for module in _device_side(device_module):
            parts = module.split(".")
            for depth in range(1, len(parts)):
                members.setdefault("/".join(parts[:depth]) + "/__init__.py", None)
            members["/".join(parts) + ".py"] = _source(module)
    members.setdefault("hwnas/__init__.py", None)
    return members


@functools.lru_cache(maxsize=1)
def runner_archive() -> bytes:
    """The zipapp's bytes (built once per process)."""
    with tempfile.TemporaryDirectory(prefix="hwnas-runner-") as tmp:
        root = Path(tmp) / "runner"
        for name, source in archive_members().items():
            dest = root / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source is None:
                dest.write_text("")
            else:
                shutil.copyfile(source, dest)
        (root / "__main__.py").write_text(_MAIN.format(runtimes=device_modules()))
        buf = io.BytesIO()
        zipapp.create_archive(root, buf)
        return buf.getvalue()


def write_runner(path: str | Path) -> Path:
    """Write the zipapp to ``path`` (``python3 path serve`` runs it)."""
    path = Path(path)
    path.write_bytes(runner_archive())
    return path
