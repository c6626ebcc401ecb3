"""A budget family: one search, one winner per budget of one constraint kind (issue 24).

Candidate scores do not depend on the budget, only feasibility and the budget-use term do,
so a family scores each candidate once and picks each member's winner among the candidates
feasible for it. What the family is (the kind and its budgets) lives here; how its search
shares the work out is :mod:`hwnas.search.family_engine`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from hwnas.errors import UsageError
from hwnas.search.constraints import Constraints

#: Constraint kinds a family may vary: the Constraints field, its option and its file-name unit.
KINDS = {
    "latency_ms": ("--latency-ms", "ms"),
    "params_m": ("--params-m", "M-params"),
    "flops_m": ("--flops-m", "M-FLOPs"),
}
#: Members a family may have: each adds a population and its phases to the search.
MAX_MEMBERS = 16
#: A family's default evaluations, as a multiple of one search's: what the whole family costs.
FAMILY_COST = 1.5


@dataclass(frozen=True)
class BudgetFamily:
    """Budgets of one constraint kind, tightest first, each a member with its own winner."""

    kind: str
    budgets: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"a family varies one of {', '.join(KINDS)}, not {self.kind!r}")
        option = KINDS[self.kind][0]
        if not 2 <= len(self.budgets) <= MAX_MEMBERS:
            raise UsageError(f"{option}: a family has 2 to {MAX_MEMBERS} budgets, got {len(self.budgets)}")
        for value in self.budgets:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise UsageError(f"{option} must be a finite number above 0, got {value!r}")
        if len(set(self.budgets)) != len(self.budgets):
            raise UsageError(f"{option} lists a budget twice: {', '.join(f'{b:g}' for b in self.budgets)}")
        if list(self.budgets) != sorted(self.budgets):
            object.__setattr__(self, "budgets", tuple(sorted(self.budgets)))

    @property
    def option(self) -> str:
        return KINDS[self.kind][0]

    def label(self, budget: float) -> str:
        """The member's name in file names and tables, e.g. ``10ms`` or ``2.5M-params``."""
        return f"{budget:g}{KINDS[self.kind][1]}"

    def constraints(self, base: Constraints, budget: float) -> Constraints:
        """The member's constraints: ``base`` with this family's kind bounded by ``budget``."""
        return replace(base, **{self.kind: float(budget)})

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "budgets": list(self.budgets)}

    @classmethod
    def from_json(cls, data: Any) -> BudgetFamily | None:
        if data is None:
            return None
        return cls(str(data["kind"]), tuple(float(b) for b in data["budgets"]))


def parse_budgets(option: str, text: str | None) -> tuple[float, ...] | None:
    """``5,10,20`` as numbers; None when the option was not given. One value stays one value."""
    if text is None:
        return None
    parts = [p.strip() for p in str(text).split(",")]
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise UsageError(f"{option} takes a number or a comma-separated list of numbers, got {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise UsageError(f"{option} must be a finite number above 0, got {part!r}")
        values.append(value)
    return tuple(values)


def family_of(bounds: dict[str, Sequence[float] | None]) -> tuple[Constraints, BudgetFamily | None]:
    """The base constraints and the family, from each kind's parsed values; at most one kind is a list."""
    lists = [kind for kind, values in bounds.items() if values is not None and len(values) > 1]
    if len(lists) > 1:
        names = " and ".join(KINDS[k][0] for k in lists)
        raise UsageError(f"a family varies one budget: {names} are both lists; give one of them one value")
    single = {kind: (values[0] if values and len(values) == 1 else None) for kind, values in bounds.items()}
    base = Constraints(**single)
    if not lists:
        return base, None
    kind = lists[0]
    return base, BudgetFamily(kind, tuple(bounds[kind] or ()))
