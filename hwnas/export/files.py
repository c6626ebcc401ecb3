"""The export directory appears whole or not at all; artifact hashes.

Everything is written into a hidden sibling (``.DIR.partial-<random>``) and renamed onto
``DIR`` only when every artifact and the model card are done, so a failed or
interrupted export leaves no partial directory behind (and folders created for it
are removed again).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hwnas.errors import UsageError
from hwnas.io import missing_folders, remove_empty_folders

#: The file every export writes last; its presence marks a folder as an hwnas export.
CARD_FILE = "model_card.json"
#: The card of a family export (``hwnas export RUN --all``), which marks its folder the same way.
FAMILY_CARD_FILE = "family_card.json"


def check_destination(out: Path, *, overwrite: bool, inputs: tuple[Path | None, ...] = ()) -> None:
    """Refuse an existing ``out`` unless ``overwrite`` (and never a file), and an ``out`` that would
    replace one of the ``inputs`` (the run directory, weights, calibration images); called before any work."""
    target = Path(os.path.abspath(out))
    for item in inputs:
        if item is None:
            continue
        source = Path(os.path.abspath(item))
        if source == target or target in source.parents:
            raise UsageError(f"--out {out} would replace the input {item}; choose another --out")
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise UsageError(f"--out {out} exists and is not a directory")
        if not any(out.iterdir()):
            return
        if not overwrite:
            raise UsageError(f"--out {out} already exists and is not empty (pass --overwrite to replace it)")
        if not any((out / f).is_file() for f in (CARD_FILE, FAMILY_CARD_FILE)):  # never delete what hwnas did not write
            raise UsageError(
                f"--out {out} is not an hwnas export (no {CARD_FILE}): --overwrite only replaces an earlier "
                "export; choose another --out"
            )


@contextlib.contextmanager
def staged_directory(out: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield an empty staging folder beside ``out``; on success it becomes ``out``, on failure it is deleted."""
    out = Path(os.path.abspath(out))
    check_destination(out, overwrite=overwrite)
    created = missing_folders(out.parent)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    stage.chmod(0o755)  # mkdtemp's 0700 would leak into the published folder
    try:
        yield stage
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rmdir(old)
            out.rename(old)
            stage.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            stage.rename(out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        remove_empty_folders(created)
        raise


def sha256_of(path: Path) -> str:
    """SHA-256 of a file; of a folder (an .mlpackage), of its ``sha256sum``-style lines, sorted by path.

    For a folder this equals
    ``(cd DIR && find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum) | sha256sum``.
    """
    if path.is_file():
        return _file_sha256(path)
    names = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    lines = "".join(f"{_file_sha256(path / name)}  {name}\n" for name in names)
    return hashlib.sha256(lines.encode()).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def size_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
