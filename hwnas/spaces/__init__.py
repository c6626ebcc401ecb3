"""Search spaces, registered by name (``get_space("hybrid")``).

A new space is one module with a :class:`SearchSpace` subclass decorated by
``@SPACES.register("name")``, imported below; the conformance tests pick it up.
"""

from __future__ import annotations

from hwnas.registry import Registry
from hwnas.spaces.base import BlockSpec, GeneGroup, SearchSpace

SPACES: Registry[type[SearchSpace]] = Registry("search space")
DEFAULT_SPACE = "hybrid"


def get_space(name: str = DEFAULT_SPACE) -> SearchSpace:
    """An instance of the space registered as ``name``."""
    return SPACES.get(name)()


def space_names() -> list[str]:
    return SPACES.names()


from hwnas.spaces import hybrid, nb201  # noqa: E402,F401  (registration side effects)

__all__ = ["SPACES", "DEFAULT_SPACE", "BlockSpec", "GeneGroup", "SearchSpace", "get_space", "space_names"]
