"""Hardware-aware search: constraints, ageing evolution, the cyclic strategy, run directories."""

from hwnas.search.config import SearchConfig, SearchState, plan_phases
from hwnas.search.constraints import Constraints
from hwnas.search.engine import SearchEngine
from hwnas.search.run import run_search
from hwnas.search.strategies import STRATEGIES, Strategy, make_strategy

__all__ = [
    "STRATEGIES",
    "Constraints",
    "SearchConfig",
    "SearchEngine",
    "SearchState",
    "Strategy",
    "make_strategy",
    "plan_phases",
    "run_search",
]
