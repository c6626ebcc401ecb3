"""Search strategies, registered by name: a new one is one module and one decorator.

``STRATEGIES.get(name)`` gives the class; :func:`strategy_from_json` rebuilds the
object a checkpoint or best.json names. The registry-driven conformance tests
(``tests/search/test_strategies.py``) check every registered strategy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hwnas.errors import UsageError
from hwnas.registry import Registry
from hwnas.search.strategies.base import Phase, Strategy

STRATEGIES: Registry[type[Strategy]] = Registry("strategy")


def make_strategy(name: str, **params: Any) -> Strategy:
    """The strategy registered as ``name`` with ``params`` (unknown names and parameters are usage errors)."""
    return STRATEGIES.get(name).from_params(params)


def strategy_from_json(data: Mapping[str, Any]) -> Strategy:
    if "name" not in data:
        raise UsageError("a strategy record needs a 'name'")
    params = {k: v for k, v in data.items() if k != "name"}
    return make_strategy(str(data["name"]), **params)


# registration side effects, in the order `STRATEGIES.names()` lists them
# isort: off
# (after the registry they register into, hence E402)
from hwnas.search.strategies import cyclic  # noqa: F401,E402
from hwnas.search.strategies import single  # noqa: F401,E402
from hwnas.search.strategies import random_sampling  # noqa: F401,E402
from hwnas.search.strategies import freerea  # noqa: F401,E402
# isort: on

DEFAULT_STRATEGY = "cyclic"

__all__ = ["DEFAULT_STRATEGY", "STRATEGIES", "Phase", "Strategy", "make_strategy", "strategy_from_json"]
