"""Atomic file writes: a result file is either the old one or the complete new one.

Every writer goes to a temporary file in the target's folder and ``os.replace``s it
into place, so an interrupted job never leaves a half-written table or report.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hwnas.errors import UsageError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def missing_folders(path: str | os.PathLike[str]) -> list[Path]:
    """``path`` and its ancestors that do not exist yet, innermost first (what a failed job must remove)."""
    missing = []
    folder = Path(path)
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    return missing


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove ``folders`` (innermost first) while they are empty; stop at the first that holds something."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def read_text(path: str | os.PathLike[str], *, label: str = "") -> str:
    """A text file as UTF-8 (a leading byte-order mark is dropped, as spreadsheets write one).

    UTF-16 or binary content and an unreadable file are one usage error naming the file,
    not a UnicodeDecodeError from deep inside a CSV reader.
    """
    name = f"{label}{' ' if label else ''}{path}"
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    except IsADirectoryError:
        raise UsageError(f"{name} is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot read ({exc.strerror or exc})") from None


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8-sig"))


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


_CHECKPOINTS: list[Path] = []


def announce_checkpoint(path: str | os.PathLike[str]) -> None:
    """Record the file or folder a long job checkpoints to, so an interrupt can name it."""
    _CHECKPOINTS.append(Path(path))


def last_checkpoint() -> Path | None:
    """The file or folder the current command last said it checkpoints to, if any."""
    return _CHECKPOINTS[-1] if _CHECKPOINTS else None
