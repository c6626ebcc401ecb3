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
from pathlib import Path
from typing import Any

from hwnas import __version__
from hwnas.errors import UsageError
from hwnas.io import atomic_path, atomic_write_json, atomic_write_text, read_json
from hwnas.records import BestRecord
from hwnas.search.config import SearchConfig, SearchState

CHECKPOINT_VERSION = 2  # 2: strategies as objects, populations of encodings


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.json"

    def has_checkpoint(self) -> bool:
        return self.checkpoint.exists()

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

    def load_checkpoint(self, config: SearchConfig) -> SearchState:
        """The saved state; refuses a checkpoint made with other settings, or one that is damaged."""
        damaged = (
            f"{self.checkpoint} is damaged or not an hwnas checkpoint; move it away to start the search "
            "again, or choose another --out"
        )
        try:
            data = read_json(self.checkpoint)
        except (OSError, UnicodeDecodeError, ValueError):
            raise UsageError(damaged) from None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("config"), dict)
            or not isinstance(data.get("state"), dict)
        ):
            if isinstance(data, dict) and data.get("version") not in (None, CHECKPOINT_VERSION):
                raise UsageError(f"{self.checkpoint}: unsupported checkpoint version {data.get('version')!r}")
            raise UsageError(damaged)
        if data.get("version") != CHECKPOINT_VERSION:
            raise UsageError(f"{self.checkpoint}: unsupported checkpoint version {data.get('version')!r}")
        saved = data["config"]
        current = config.to_json()
        changed = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        if changed:
            raise UsageError(
                f"{self.path} holds a search with other settings ({', '.join(changed)}); "
                "use the same options to --resume, or another --out"
            )
        try:
            return SearchState(**data["state"])
        except TypeError:
            raise UsageError(damaged) from None

    def write_history(self, state: SearchState) -> None:
        atomic_write_text(self.path / "history.jsonl", "".join(json.dumps(h) + "\n" for h in state.history))

    def write_best(self, best: BestRecord) -> None:
        atomic_write_json(self.path / "best.json", best.to_json())

    def write_run(self, run: dict[str, Any]) -> None:
        atomic_write_json(self.path / "run.json", run)


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


def pareto_title(best: BestRecord) -> str:
    """The device (or the latency table) and the budgets, so the figure reads on its own."""
    source = best.latency_source or {}
    table = Path(str(source.get("path") or "latency table")).name
    target = best.device or source.get("device") or source.get("column") or table
    limits = [
        f"{what} ≤ {best.constraints[key]:g} {unit}"
        for key, what, unit in BOUNDS
        if best.constraints and best.constraints.get(key) is not None
    ]
    return f"{best.space} on {target}, {', '.join(limits) or 'no budget'}: {best.strategy or 'search'} search"


def plot_pareto(history: list[dict[str, Any]], best: BestRecord, proxies: tuple[str, ...], path: Path) -> None:
    """Write ``pareto.png``: one panel per proxy, latency (x) vs score (y), the front and the winner."""
    fig = pareto_figure(history, best, proxies)
    import matplotlib.pyplot as plt  # after pareto_figure chose the Agg backend

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def pareto_figure(history: list[dict[str, Any]], best: BestRecord, proxies: tuple[str, ...]) -> Any:
    """The figure of :func:`plot_pareto` (a matplotlib Figure, left open for the caller).

    A proxy constant over the history (skip length on a space without cells) gets no panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latency_limit_ms = (best.constraints or {}).get("latency_ms")
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
        won = [p for p in pts if p[2] == best.arch]
        if won:
            ax.scatter([won[0][0]], [won[0][1]], marker="*", s=250, color="tab:red", zorder=5, label="winner")
        if latency_limit_ms is not None:
            ax.axvline(latency_limit_ms, color="grey", linestyle="--", label="latency budget")
        ax.set_xlabel("predicted latency (ms)")
        ax.set_ylabel(f"{proxy_label(proxy)}, higher is better")
        ax.set_title(f"{proxy_label(proxy)} vs latency", fontsize=10)
        ax.legend(loc="upper left", fontsize=8)  # the front rises to the right: the top left is empty
    fig.suptitle(pareto_title(best))
    fig.tight_layout()
    return fig
