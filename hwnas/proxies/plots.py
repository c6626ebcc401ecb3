"""Scatter plots of a proxy against ground-truth accuracy (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwnas.io import atomic_path
from hwnas.proxies.evaluation import ProxyJudgement


def scatter_plot(
    path: Path, judgement: ProxyJudgement, scores: np.ndarray, accuracy: np.ndarray, accuracy_label: str
) -> None:
    """One point per architecture; x on a log axis when the proxy spans many decades (synflow)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.asarray(scores, dtype=float)
    finite = np.isfinite(x)
    fig, ax = plt.subplots(figsize=(5.5, 4.2), dpi=110)
    ax.scatter(x[finite], accuracy[finite], s=6, alpha=0.45, linewidths=0)
    positive = x[finite] > 0
    if positive.all() and positive.any() and x[finite].max() / x[finite].min() > 1e4:
        ax.set_xscale("log")
    within = "n.a." if judgement.within_params_spearman is None else f"{judgement.within_params_spearman:.3f}"
    ax.set_title(
        f"{judgement.name}: Spearman {judgement.spearman:.3f}, Kendall {judgement.kendall:.3f}\n"
        f"within equal #Params {within} ({judgement.groups} groups), {judgement.archs} archs",
        fontsize=9,
    )
    ax.set_xlabel(f"{judgement.name} (higher = predicted better)")
    ax.set_ylabel(accuracy_label)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
