"""pareto.png reads on its own: its title names the device and the budgets, its axes what the
proxies measure."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt

from hwnas.records import BestRecord
from hwnas.search.rundir import pareto_figure, pareto_title, plot_pareto, proxy_label


def _history() -> list[dict[str, Any]]:
    return [
        {"arch": f"a{i}", "latency_ms": 4.0 + i, "scores": {"es": float(i), "logsynflow": 10.0 - i, "skip_length": 0.0}}
        for i in range(5)
    ]


def _best(**kw: Any) -> BestRecord:
    base: dict[str, Any] = {
        "arch": "a3",
        "space": "hybrid",
        "strategy": "cyclic",
        "device": "host-cpu",
        "constraints": {"latency_ms": 10.0, "params_m": None, "flops_m": None},
    }
    return BestRecord(**{**base, **kw})


def test_title_names_the_device_and_every_budget() -> None:
    assert pareto_title(_best()) == "hybrid on host-cpu, latency ≤ 10 ms: cyclic search"
    both = _best(constraints={"latency_ms": 10.66, "params_m": 0.5, "flops_m": None})
    assert "latency ≤ 10.66 ms, #Params ≤ 0.5 M" in pareto_title(both)


def test_title_names_the_table_column_without_a_device() -> None:
    best = _best(space="nb201", device=None, latency_source={"kind": "arch-table", "column": "pixel3_latency_ms"})
    assert pareto_title(best).startswith("nb201 on pixel3_latency_ms, latency ≤ 10 ms")


def test_axes_say_what_the_proxies_measure() -> None:
    fig = pareto_figure(_history(), _best(), ("es", "logsynflow", "skip_length"))
    try:
        ylabels = [ax.get_ylabel() for ax in fig.axes]
        assert ylabels == ["Entropic Score (topology), higher is better", "LogSynflow (size), higher is better"]
        assert all(ax.get_xlabel() == "predicted latency (ms)" for ax in fig.axes)
        assert fig.get_suptitle() == "hybrid on host-cpu, latency ≤ 10 ms: cyclic search"
    finally:
        plt.close(fig)


def test_unknown_proxy_keeps_its_registry_name(tmp_path) -> None:
    assert proxy_label("zico") == "zico"
    history = [{"arch": f"a{i}", "latency_ms": float(i), "scores": {"zico": float(i)}} for i in range(3)]
    plot_pareto(history, _best(arch="a1"), ("zico",), tmp_path / "pareto.png")
    assert (tmp_path / "pareto.png").read_bytes()[:4] == b"\x89PNG"
