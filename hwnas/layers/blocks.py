"""Blocks of the hybrid CNN-Transformer space (ESFormer-style).

Every block keeps its input shape (stride 1, same width) and adds a residual, so
a layer can take any block type; stage transitions are separate
:class:`Downsample` blocks. Attention is written with plain matrix products so
the same graph exports to ONNX, TensorRT and Core ML without special operators.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channel axis of an NCHW tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class InvertedBottleneck(nn.Module):
    """MobileNetV2 block: 1x1 expand, depthwise kxk, 1x1 project, residual."""

    def __init__(self, channels: int, kernel: int, expansion: int) -> None:
        super().__init__()
        hidden = channels * expansion
        self.body = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, hidden, kernel, padding=kernel // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block: depthwise kxk, LayerNorm, pointwise MLP (GELU), residual."""

    def __init__(self, channels: int, kernel: int, expansion: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(channels, channels, kernel, padding=kernel // 2, groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.fc1 = nn.Linear(channels, channels * expansion)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(channels * expansion, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.fc2(self.act(self.fc1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class MLP(nn.Module):
    """Transformer feed-forward: LayerNorm, Linear, GELU, Linear, residual (on NCHW)."""

    def __init__(self, channels: int, expansion: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.fc1 = nn.Linear(channels, channels * expansion)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(channels * expansion, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.permute(0, 2, 3, 1)
        y = self.fc2(self.act(self.fc1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class SelfAttention(nn.Module):
    """Pre-norm multi-head self-attention over the HxW tokens with a QKV dimension of its own."""

    def __init__(self, channels: int, qkv_dim: int, heads: int) -> None:
        super().__init__()
        if qkv_dim % heads:
            raise ValueError(f"qkv_dim {qkv_dim} is not divisible by heads {heads}")
        self.heads = heads
        self.head_dim = qkv_dim // heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.norm = nn.LayerNorm(channels)
        self.qkv = nn.Linear(channels, 3 * qkv_dim)
        self.proj = nn.Linear(qkv_dim, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # B, N, C
        qkv = self.qkv(self.norm(tokens)).reshape(b, h * w, 3, self.heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each B, heads, N, d
        attn = torch.softmax((q * self.scale) @ k.transpose(-2, -1), dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, h * w, self.heads * self.head_dim)
        return x + self.proj(out).transpose(1, 2).reshape(b, c, h, w)


class TransformerEncoder(nn.Module):
    """Attention followed by a feed-forward part that is an MLP, an IBN or a ConvNeXt block."""

    def __init__(self, channels: int, qkv_dim: int, heads: int, ffn: str, kernel: int, expansion: int) -> None:
        super().__init__()
        self.attn = SelfAttention(channels, qkv_dim, heads)
        if ffn == "mlp":
            self.ffn: nn.Module = MLP(channels, expansion)
        elif ffn == "ibn":
            self.ffn = InvertedBottleneck(channels, kernel, expansion)
        elif ffn == "convnext":
            self.ffn = ConvNeXtBlock(channels, kernel, expansion)
        else:
            raise ValueError(f"unknown feed-forward type {ffn!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.attn(x))


class Stem(nn.Sequential):
    """Patchify stem: 4x4 convolution with stride 4, then BatchNorm."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, 4, stride=4), nn.BatchNorm2d(c_out))


class Downsample(nn.Sequential):
    """Stage transition: BatchNorm, then a 2x2 convolution with stride 2 to the new width."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(nn.BatchNorm2d(c_in), nn.Conv2d(c_in, c_out, 2, stride=2))


class ClassifierHead(nn.Module):
    """Global average pool, LayerNorm, Linear."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(x.mean(dim=(2, 3))))
