"""SED's rules for the hybrid space (:mod:`hwnas.proxies.sed`): how each block, as its
:mod:`hwnas.layers.blocks` module, acts on the entropy field it receives."""

from __future__ import annotations

from hwnas.layers import entropy
from hwnas.layers.entropy import Field
from hwnas.spaces.base import BlockSpec, SedRules

#: The patchify stem's stride: the space's stage resolutions and SED's stem rule both follow it.
STEM_STRIDE = 4


def _sed_ibn(x: Field, spec: BlockSpec) -> Field:
    cfg = spec.config_dict()
    return entropy.inverted_bottleneck(x, spec.input_shape[1], cfg["kernel"], cfg["expansion"])


def _sed_convnext(x: Field, spec: BlockSpec) -> Field:
    cfg = spec.config_dict()
    return entropy.convnext(x, spec.input_shape[1], cfg["kernel"], cfg["expansion"])


def _sed_transformer(x: Field, spec: BlockSpec) -> Field:
    cfg, (_, c, _, side) = spec.config_dict(), spec.input_shape
    return entropy.transformer_encoder(x, c, side, cfg["qkv_dim"], cfg["ffn"], cfg["kernel"] or 3, cfg["expansion"])


SED_RULES: SedRules = {
    "stem": lambda x, spec: entropy.conv(x, 16 * spec.input_shape[1], stride=STEM_STRIDE),
    "downsample": lambda x, spec: entropy.conv(x, 4 * spec.input_shape[1], stride=2),
    "ibn": _sed_ibn,
    "convnext": _sed_convnext,
    "transformer": _sed_transformer,
    "head": None,  # global pooling and a classifier, the same for every topology
}
