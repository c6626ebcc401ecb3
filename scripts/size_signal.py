"""Does the size signal grow with capacity? LogSynflow before and after the log-domain rescaling,
block kind by block kind, on the hybrid space at 224 (issue 23).

For each layer kind (inverted bottleneck ``ib5``, ConvNeXt ``cn7``, and the Transformers with an
MLP ``tm``, IBN ``ti5`` or ConvNeXt ``tc5`` feed-forward; stage 1 holds no attention, so it is
``ib3`` in the Transformer families) a family of networks that differ only in size genes is
built: every width of every stage (the same index in all four), depths from the smallest to the
largest, and two expansion ratios. Each is scored with the previous LogSynflow (float64, no
rescaling) and the current one, and the script prints, per kind, Spearman's rho of the score
against #Params, how many scores are not finite, and the seconds per network; ``--plot`` draws
score against #Params per kind, before and after.

    python scripts/size_signal.py --plot docs/images/size_signal.png
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from scipy import stats

from hwnas.counting import count_params
from hwnas.proxies.synflow import logsynflow_score, synflow_gradients
from hwnas.spaces import get_space
from hwnas.spaces.hybrid import DEPTHS, HEADS, QKV_DIMS, WIDTHS

KINDS = ("ib5", "cn7", "tm", "ti5", "tc5")
DEPTH_STEPS = ((0, 0, 0, 0), (1, 1, 1, 1), (1, 1, 2, 1), (2, 2, 3, 2), (2, 2, 4, 2))


def previous_logsynflow(model: torch.nn.Module, shape: tuple[int, ...]) -> float:
    """The definition before the rescaling: float64, the raw signal (what the search used)."""
    return float(sum((w * torch.log1p(g.abs())).abs().sum() for w, g in synflow_gradients(model, shape)))


def family(kind: str) -> list[str]:
    """Encodings of one layer kind that differ only in width, depth and expansion."""
    out = []
    for w, depths, e in itertools.product(range(3), DEPTH_STEPS, (2, 4)):
        stages = []
        for s in range(4):
            token = kind if s > 0 or kind[:2] in ("ib", "cn") else "ib3"
            depth = DEPTHS[s][depths[s]]
            attn = f"-q{QKV_DIMS[s][-1]}-h{HEADS[s][0]}" if QKV_DIMS[s] else ""
            stages.append(f"w{WIDTHS[s][w]}-e{e}{attn}:" + ",".join([token] * depth))
        out.append("/".join(stages))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plot", type=Path, help="write score against #Params per kind here (PNG)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = get_space("hybrid")
    shape = space.input_shape(224)
    rows = []
    for kind in KINDS:
        for text in family(kind):
            torch.manual_seed(0)
            model = space.build(space.decode(text))
            started = time.perf_counter()
            before = previous_logsynflow(model, shape)
            before_s = time.perf_counter() - started
            started = time.perf_counter()
            after = logsynflow_score(model, shape)
            after_s = time.perf_counter() - started
            rows.append(
                {"kind": kind, "arch": text, "params_m": count_params(model) / 1e6, "before": before,
                 "after": after, "before_s": before_s, "after_s": after_s}
            )  # fmt: skip
    summary = []
    for kind in (*KINDS, "all kinds"):
        mine = [r for r in rows if r["kind"] == kind or kind == "all kinds"]
        params = [r["params_m"] for r in mine]
        entry = {"kind": kind, "networks": len(mine)}
        for which in ("before", "after"):
            finite = [(p, r[which]) for p, r in zip(params, mine, strict=True) if math.isfinite(r[which])]
            rho = stats.spearmanr(*zip(*finite, strict=True)).statistic if len(finite) > 2 else float("nan")
            entry[f"{which}_rho"] = float(rho)
            entry[f"{which}_not_finite"] = len(mine) - len(finite)
            entry[f"{which}_s"] = sum(r[f"{which}_s"] for r in mine) / len(mine)
        summary.append(entry)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
        for ax, which, title in zip(
            axes,
            ("before", "after"),
            ("before: float64, raw signal", "after: rescaled per block, log domain"),
            strict=True,
        ):  # noqa: E501
            for kind in KINDS:
                pts = [(r["params_m"], r[which]) for r in rows if r["kind"] == kind and math.isfinite(r[which])]
                ax.scatter(*zip(*pts, strict=True), s=14, label=kind)
            ax.set_title(f"LogSynflow {title}")
            ax.set_xlabel("#Params (M)")
            ax.set_yscale("log")
        axes[0].set_ylabel("LogSynflow (size signal)")
        axes[1].legend(title="layer kind")
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)
    if args.json:
        print(json.dumps({"summary": summary, "networks": rows}, indent=2, default=str))
        return 0
    table = Table(title="LogSynflow against #Params per layer kind (hybrid, 224, seed 0)")
    for column in ("kind", "networks", "rho before", "not finite before", "s before", "rho after",
                   "not finite after", "s after"):  # fmt: skip
        table.add_column(column)
    for e in summary:
        table.add_row(
            e["kind"], str(e["networks"]), f"{e['before_rho']:.3f}", str(e["before_not_finite"]),
            f"{e['before_s']:.2f}", f"{e['after_rho']:.3f}", str(e["after_not_finite"]), f"{e['after_s']:.2f}",
        )  # fmt: skip
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
