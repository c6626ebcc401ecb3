"""The files of a search run directory, all written atomically.

- ``checkpoint.json``: config + state after the last completed step (for ``--resume``);
- ``history.jsonl``: every evaluated candidate with its phase and cycle;
- ``best.json``: the winner (:class:`~hwnas.records.BestRecord`); deterministic for a config (no
  wall-clock fields), so a resumed run's file equals an uninterrupted run's;
- ``run.json``: counters and wall time of the run;
- ``pareto.png``: latency vs proxy score, the Pareto front and the winner marked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hwnas import __version__
from hwnas.errors import UsageError
from hwnas.io import atomic_path, atomic_write_json, atomic_write_text, read_json
from hwnas.records import BestRecord
from hwnas.search.config import SearchConfig, SearchState, upgrade_config_json

CHECKPOINT_VERSION = 2  # 2: strategies as objects, populations of encodings


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.json"

    def has_checkpoint(self) -> bool:
        return self.checkpoint.exists()

    def saved_config(self) -> dict[str, Any] | None:
        """The checkpoint's config as saved (today's key names), or None when there is none readable;
        :meth:`load_checkpoint` says what is wrong with a damaged one."""
        try:
            data = read_json(self.checkpoint)
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        config = data.get("config") if isinstance(data, dict) else None
        return upgrade_config_json(config) if isinstance(config, dict) else None

    def save_checkpoint(self, config: SearchConfig, state: SearchState) -> None:
        atomic_write_text(
            self.checkpoint,
            json.dumps(
                {
                    "version": CHECKPOINT_VERSION,
                    "config": config.to_json(),
                    "state": state.__dict__,
                }
            ),
        )

    @property
    def _damaged(self) -> str:
        return (
            f"{self.checkpoint} is damaged or not an hwnas checkpoint; move it away to start the search "
            "again, or choose another --out"
        )

    def load_checkpoint(self, config: SearchConfig) -> SearchState:
        """The saved state; refuses a checkpoint made with other settings, or one that is damaged."""
        data = self._load(config)
        if not isinstance(data.get("state"), dict):
            raise UsageError(self._damaged)
        try:
            return SearchState(**data["state"])
        except TypeError:
            raise UsageError(self._damaged) from None

    def _load(self, config: SearchConfig) -> dict[str, Any]:
        """The checkpoint's JSON, when it is whole and was made with ``config``'s settings."""
        damaged = self._damaged
        try:
            data = read_json(self.checkpoint)
        except (OSError, UnicodeDecodeError, ValueError):
            raise UsageError(damaged) from None
        if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
            if isinstance(data, dict) and data.get("version") not in (None, CHECKPOINT_VERSION):
                raise UsageError(f"{self.checkpoint}: unsupported checkpoint version {data.get('version')!r}")
            raise UsageError(damaged)
        if data.get("version") != CHECKPOINT_VERSION:
            raise UsageError(f"{self.checkpoint}: unsupported checkpoint version {data.get('version')!r}")
        saved = upgrade_config_json(data["config"])
        current = config.to_json()
        changed = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        if "family" in changed:
            held = "a budget family" if saved.get("family") else "a single-budget search"
            wanted = "a budget family" if current.get("family") else "a single-budget search"
            raise UsageError(
                f"{self.path} holds {held}, and these options ask for {wanted}: "
                "use the options it was started with to --resume, or another --out"
            )
        if changed:
            raise UsageError(
                f"{self.path} holds a search with other settings ({', '.join(changed)}); "
                "use the same options to --resume, or another --out"
            )
        return data

    def save_family_checkpoint(self, config: SearchConfig, states: list[SearchState]) -> None:
        """A family's members' states, their shared history and score cache written once."""
        members = [{k: v for k, v in s.__dict__.items() if k not in ("history", "scores")} for s in states]
        atomic_write_text(
            self.checkpoint,
            json.dumps(
                {
                    "version": CHECKPOINT_VERSION,
                    "config": config.to_json(),
                    "members": members,
                    "history": states[0].history,
                    "scores": states[0].scores,
                }
            ),
        )

    def load_family_checkpoint(self, config: SearchConfig) -> list[SearchState]:
        """The members' saved states, sharing one history and score cache (refused like a single one)."""
        data = self._load(config)
        members = data.get("members")
        if not isinstance(members, list) or len(members) != len(config.family.budgets if config.family else ()):
            raise UsageError(self._damaged)
        history, scores = data.get("history"), data.get("scores")
        try:
            return [SearchState(**{**m, "history": history, "scores": scores}) for m in members]
        except TypeError:
            raise UsageError(self._damaged) from None

    def write_history(self, state: SearchState) -> None:
        atomic_write_text(self.path / "history.jsonl", "".join(json.dumps(h) + "\n" for h in state.history))

    def write_best(self, best: BestRecord) -> None:
        atomic_write_json(self.path / "best.json", best.to_json())

    def write_run(self, run: dict[str, Any]) -> None:
        atomic_write_json(self.path / "run.json", run)

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        atomic_write_json(self.path / name, data)


def best_document(
    config: SearchConfig,
    winner: dict[str, Any],
    *,
    device: str | None,
    latency_source: dict[str, Any],
    selection: str = "",
) -> BestRecord:
    """The winner's record (``best.json``)."""
    return BestRecord(
        arch=winner["arch"],
        space=config.space,
        strategy=config.strategy.name,
        selection=selection,
        predicted_latency_ms=winner["latency_ms"],
        predicted_latencies_ms=winner.get("latencies_ms"),
        params_m=winner["params_m"],
        flops_m=winner["flops_m"],
        resolution=config.resolution,
        scores=dict(winner["scores"]),
        device=device,
        latency_source=dict(latency_source),
        constraints=config.constraints.as_dict(),
        seed=config.seed,
        config=config.to_json(),
        hwnas_version=__version__,
    )


#: What each proxy measures, for plot axes a reader can follow without the registry; a proxy
#: missing here is labelled by its registry name.
PROXY_LABELS = {
    "es": "Entropic Score (topology)",
    "logsynflow": "LogSynflow (size)",
    "synflow": "Synflow (size)",
    "params": "#Params (M)",
    "flops": "FLOPs (M)",
    "naswot": "NASWOT (activation patterns)",
    "sed": "SED (architecture only)",
    "skip_length": "skip length (cells)",
}

#: The bounds of a search, as its title names them.
BOUNDS = (("latency_ms", "latency", "ms"), ("params_m", "#Params", "M"), ("flops_m", "FLOPs", "M"))


def proxy_label(name: str) -> str:
    return PROXY_LABELS.get(name, name)


def pareto_title(bests: BestRecord | Sequence[BestRecord]) -> str:
    """The device (or the latency table) and the budgets, so the figure reads on its own; a family's
    title lists its members' budgets, a device set's each device's."""
    members = [bests] if isinstance(bests, BestRecord) else list(bests)
    best = members[0]
    source = best.latency_source or {}
    table = Path(str(source.get("path") or "latency table")).name
    target = best.device or source.get("device") or source.get("column") or table
    devices = (best.config or {}).get("devices") or []
    limits = [f"{name} ≤ {budget:g} ms" for name, budget in devices]
    for key, what, unit in BOUNDS:
        values = [m.constraints[key] for m in members if m.constraints and m.constraints.get(key) is not None]
        if values:
            limits.append(f"{what} ≤ {', '.join(f'{v:g}' for v in dict.fromkeys(values))} {unit}")
    kind = "a family of winners, " if len(members) > 1 else ""
    return f"{best.space} on {target}, {kind}{', '.join(limits) or 'no budget'}: {best.strategy or 'search'} search"


def plot_pareto(
    history: list[dict[str, Any]],
    best: BestRecord | Sequence[BestRecord],
    proxies: tuple[str, ...],
    path: Path,
    labels: Sequence[str] | None = None,
) -> None:
    """Write ``pareto.png``: one panel per proxy, latency (x) vs score (y), the front and the winner
    (a family's winners, one per budget, each marked and named by ``labels``)."""
    fig = pareto_figure(history, best, proxies, labels)
    import matplotlib.pyplot as plt  # after pareto_figure chose the Agg backend

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def pareto_figure(
    history: list[dict[str, Any]],
    best: BestRecord | Sequence[BestRecord],
    proxies: tuple[str, ...],
    labels: Sequence[str] | None = None,
) -> Any:
    """The figure of :func:`plot_pareto` (a matplotlib Figure, left open for the caller).

    A proxy constant over the history (skip length on a space without cells) gets no panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    members = [best] if isinstance(best, BestRecord) else list(best)
    names = list(labels) if labels else ["winner"] * len(members)
    limits = sorted(
        {float((m.constraints or {})["latency_ms"]) for m in members if (m.constraints or {}).get("latency_ms")}
    )
    varying = [p for p in proxies if len({h["scores"][p] for h in history}) > 1] or list(proxies[:1])
    proxies = tuple(varying)
    fig, axes = plt.subplots(1, len(proxies), figsize=(6 * len(proxies), 4.9), squeeze=False)
    for ax, proxy in zip(axes[0], proxies, strict=True):
        pts = sorted((h["latency_ms"], h["scores"][proxy], h["arch"]) for h in history)
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=10, alpha=0.5, label="evaluated")
        front, top = [], float("-inf")
        for lat, score, _ in pts:
            if score > top:
                front.append((lat, score))
                top = score
        ax.step([f[0] for f in front], [f[1] for f in front], where="post", color="tab:orange", label="Pareto front")
        for i, (member, name) in enumerate(zip(members, names, strict=True)):
            won = [p for p in pts if p[2] == member.arch]
            if won:
                color = "tab:red" if len(members) == 1 else plt.get_cmap("autumn")(i / max(1, len(members) - 1))
                ax.scatter([won[0][0]], [won[0][1]], marker="*", s=250, color=color, edgecolor="black",
                           zorder=5, label=name)  # fmt: skip
        for i, limit in enumerate(limits):
            ax.axvline(limit, color="grey", linestyle="--", label="latency budget" if i == 0 else None)
        ax.set_xlabel(
            "predicted latency (ms)"
            + (f" on {members[0].device.split('+')[0]}" if members[0].device and "+" in members[0].device else "")
        )
        ax.set_ylabel(f"{proxy_label(proxy)}, higher is better")
        ax.set_title(f"{proxy_label(proxy)} vs latency", fontsize=10)
        ax.legend(loc="upper left", fontsize=8)  # the front rises to the right: the top left is empty
    fig.suptitle(pareto_title(members if len(members) > 1 else members[0]))
    fig.tight_layout()
    return fig
