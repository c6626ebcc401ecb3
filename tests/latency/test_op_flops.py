"""FLOPs by operator class (issue 25): the classes add up to the total, and each kind of layer
lands in its class; the few-shot features select a stored model's columns by name."""

from __future__ import annotations

import torch
from torch import nn

from hwnas.latency.features import FeatureSet, block_counts
from hwnas.latency.op_flops import OperatorFlopCounter
from hwnas.spaces import get_space


class _Mix(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dense = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 7, padding=3, groups=8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.fc = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw(self.dw(self.dense(x)))  # 1 x 16 x 8 x 8
        t = y.flatten(2).transpose(1, 2)  # 64 tokens of 16
        attn = t @ t.transpose(1, 2)
        return self.fc((attn @ t).mean(1))


def test_classes_add_up_and_each_layer_lands_in_its_class() -> None:
    counter = OperatorFlopCounter()
    with torch.inference_mode(), counter:
        _Mix().eval()(torch.zeros(1, 3, 8, 8))
    c = counter.by_class
    hw = 8 * 8
    assert c["conv"] == 2 * hw * 8 * 3 * 9
    assert c["depthwise"] == c["depthwise_k7"] == 2 * hw * 8 * 49
    assert c["pointwise"] == 2 * hw * 16 * 8 + 2 * 4 * 16
    assert c["matmul"] == 2 * (64 * 64 * 16) * 2
    assert sum(v for k, v in c.items() if k != "depthwise_k7") == counter.flops


def test_a_stored_models_columns_are_selected_by_name() -> None:
    space = get_space("hybrid")
    specs = [s for s in space.all_blocks(32) if s.kind in ("ibn", "stem")][:6]
    feats = FeatureSet(specs, [block_counts(space, s) for s in specs])
    assert feats.names[: len(feats.block_names)] == feats.block_names
    assert "share:depthwise" in feats.names and "share:depthwise" not in feats.block_names
    ibn = next(s for s in specs if s.kind == "ibn")
    k = dict(ibn.config)["kernel"]
    row = dict(zip(feats.names, feats.row(ibn.key), strict=True))
    assert 0 < row["share:depthwise"] == row[f"share:depthwise_k{k}"] < 1
    picked = feats.row(ibn.key, ["share:depthwise", "log_flops"])
    assert picked == [row["share:depthwise"], row["log_flops"]]
    assert feats.has_columns(feats.block_names) and not feats.has_columns(["log_flops:nothing"])
