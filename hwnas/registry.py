"""A tiny name -> factory registry shared by spaces, proxies, runtimes and export formats.

Registering is one decorator; looking up an unknown name raises :class:`UnknownName`
that lists the known ones, so every CLI option backed by a registry gets the same error.
A runtime is registered in its ``hwnas/runtimes/<name>/host.py`` and imported by one line
of ``hwnas/runtimes/__init__.py`` (whose docstring says how to add one); its export writers
come along through ``hwnas.export.formats``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from hwnas.errors import UnknownName

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects of one kind (classes or callables), in registration order."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self._items) or "none"
            raise UnknownName(f"unknown {self.kind} {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)
