"""Hardware-aware search: constraints, ageing evolution, the cyclic strategy, run directories."""

from hwnas.search.constraints import Constraints
from hwnas.search.engine import SearchConfig, SearchEngine, SearchState, plan_phases
from hwnas.search.runner import run_search

__all__ = ["Constraints", "SearchConfig", "SearchEngine", "SearchState", "plan_phases", "run_search"]
