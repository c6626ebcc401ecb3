"""Hand-made reference models written in the hybrid grammar, as anchors for proxies and searches.

EdgeNeXt-XXS/XS/S (Maaz et al., 2022) and MobileViT-XXS/XS/S (Mehta & Rastegari, 2022),
with the ImageNet top-1 and #Params of REFERENCE §5, and ConvNeXt V2-Atto / -Femto (Woo et
al., 2023) with their paper's figures, expressed as closely as the
grammar of :mod:`hwnas.spaces.hybrid` allows. The grammar cannot state them exactly,
so every entry carries a one-line note of what was approximated, and its own
#Params (``hwnas references``) next to the published one.

How the encodings were chosen:

1. **Nearest legal genes.** EdgeNeXt: four stages of ConvNeXt-style conv encoders
   (``cn``) with kernels 3/5/7/9 (9 -> 7), expansion 4, and an SDTA block at the end
   of stages 2-4 as a Transformer layer with a ConvNeXt feed-forward (``tc3``: SDTA is
   attention + 3x3 depthwise convs + an MLP; its QKV dimension is the stage width);
   depths 2/2/6/2 (XXS) and 3/3/9/3 (XS, S; 9 -> 8), widths XXS 24/48/88/168,
   XS 32/64/100/192, S 48/96/160/304, heads 4 (S: 8 -> 4). MobileViT: the stride-4
   patchify stem stands for the 3x3 stem, layer 1 and layer 2's strided MV2 block, so
   stage 1 is layer 2's other two MV2 blocks (``ib3``, the MV2 expansion); stages 2-4
   are the MobileViT blocks' L = 2/4/3 Transformer layers (``tm``, heads 4) at the
   Transformer dimension d (XXS 64/80/96, XS 96/120/144, S 144/192/240) with
   expansion 2 (MobileViT's FFN is 2d); the strided MV2 at each stage start is the
   grammar's downsample.
2. **Closest #Params.** Among the legal size genes (width, depth, expansion, QKV; heads
   do not change #Params), the encoding minimising ``|#Params - published| / published
   (in %) + 2 x (genes not at a nearest option)`` was taken, so a gene leaves its
   nearest option only when that buys more than two points of #Params error (an
   exhaustive search over up to four changed genes). The grammar has no dense 3x3
   convolutions (MobileViT's local and fusion convs) and no 1x1 expansion before the
   classifier (MobileViT's 320/384/640 channels), so the MobileViT entries need the
   most changes.

#Params here is at 224x224 and 1000 classes, as ``hwnas info`` counts it; the
published figures are REFERENCE §5's (rounded to 0.1M; the papers' code gives
EdgeNeXt 1.33/2.34/5.59M and MobileViT 1.27/2.32/5.58M). The encodings keep the
references' topology (block types per layer), so their proxy scores say how a proxy
ranks hand-made designs whose ImageNet accuracy is known; they are not the
reference networks themselves and their accuracy after training is not the
published one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

#: The space every reference is written in.
REFERENCE_SPACE = "hybrid"


@dataclass(frozen=True)
class Reference:
    """One reference model: its hybrid encoding and the published ImageNet figures."""

    name: str
    encoding: str
    published_top1: float
    published_params_m: float
    note: str
    source: str = ""
    """The paper the published figures come from."""
    space: str = REFERENCE_SPACE

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_EDGENEXT_S3 = ",".join(["cn7"] * 7 + ["tc3"])

_SOURCES = {
    "edgenext": "Maaz et al., EdgeNeXt, ECCV Workshops 2022 (Table 1)",
    "mobilevit": "Mehta & Rastegari, MobileViT, ICLR 2022 (Table 1)",
    "convnextv2": "Woo et al., ConvNeXt V2, CVPR 2023 (ImageNet-1K fine-tuned after FCMAE pre-training)",
}

REFERENCES: dict[str, Reference] = {
    r.name: replace(r, source=r.source or _SOURCES[r.name.split("-")[0]])
    for r in (
        Reference(
            "edgenext-xxs",
            "w24-e4:cn3,cn3/w48-e4-q48-h4:cn5,tc3/w96-e4-q96-h4:cn7,cn7,cn7,cn7,cn7,tc3/w160-e4-q128-h4:cn7,tc3",
            71.2,
            1.3,
            "widths 88->96, 168->160; kernel 9->7; SDTA->tc3 (QKV 88->96, 168->128); "
            "nearest genes, no change for #Params",
        ),
        Reference(
            "edgenext-xs",
            f"w32-e4:cn3,cn3,cn3/w64-e4-q48-h4:cn5,cn5,tc3/w128-e4-q96-h4:{_EDGENEXT_S3}/w160-e4-q128-h4:cn7,cn7,tc3",
            75.0,
            2.3,
            "depth 9->8; kernel 9->7; SDTA->tc3 (QKV 64->48, 100->96, 192->128); "
            "widths 100->128 (not 96) and 192->160 for #Params",
        ),
        Reference(
            "edgenext-s",
            f"w48-e4:cn3,cn3,cn3/w96-e4-q48-h4:cn5,cn5,tc3/w176-e4-q96-h4:{_EDGENEXT_S3}/w320-e4-q128-h4:cn7,cn7,tc3",
            79.4,
            5.6,
            "widths 160->176, 304->320; depth 9->8; kernel 9->7; SDTA->tc3 (QKV 96->48, 160->96, 304->128); heads 8->4",
        ),
        Reference(
            "mobilevit-xxs",
            "w24-e2:ib3,ib3/w64-e2-q48-h4:tm,tm/w128-e2-q96-h4:tm,tm,tm,tm/w160-e2-q96-h4:tm,tm,tm",
            69.0,
            1.3,
            "stages at d=64/80/96 -> 64/128/160 (80->128, not 96, for #Params); "
            "QKV 64->48, 80->96; no local/fusion convs",
        ),
        Reference(
            "mobilevit-xs",
            "w48-e4:ib3,ib3/w96-e2-q48-h4:tm,tm/w128-e2-q96-h4:tm,tm,tm,tm/w224-e3-q128-h4:tm,tm,tm",
            74.8,
            2.3,
            "stages at d=96/120/144 -> 96/128/224; QKV 96->48, 120->96, 144->128; "
            "last stage d 144->224 and FFN 2d->3d for #Params",
        ),
        Reference(
            "mobilevit-s",
            "w48-e4:ib3,ib3/w96-e2-q48-h4:tm,tm/w176-e4-q96-h4:tm,tm,tm,tm,tm,tm/w320-e4-q128-h4:tm,tm,tm",
            78.4,
            5.6,
            "stages at d=144/192/240 -> 96/176/320, stage 1 64->48; QKV capped 48/96/128; "
            "for #Params: stage 3 L 4->6, FFN 2d->4d in stages 3-4",
        ),
        # ConvNeXt V2's smallest models: ConvNeXt blocks (7x7 depthwise, expansion 4; V2's GRN is not
        # in the grammar) behind the same stride-4 patchify stem and 2x2 downsamples. Widths 40/80/160
        # are not legal genes, and nearest genes miss #Params by 6 %, so the genes that change
        # were chosen as for the others (closest #Params, 2 points per gene off its nearest option).
        Reference(
            "convnextv2-atto",
            "w32-e4:cn7,cn7/w64-e4-q32-h2:cn7,cn7/w176-e4-q64-h2:cn7,cn7/w320-e4-q96-h2:cn7,cn7,cn7",
            76.7,
            3.7,
            "widths 40/80/160/320 -> 32/64/176/320; depths 2/2/6/2 -> 2/2/2/3 for #Params; no GRN",
        ),
        Reference(
            "convnextv2-femto",
            "w48-e4:cn7,cn7/w48-e4-q32-h2:cn7,cn7/w176-e4-q64-h2:"
            + ",".join(["cn7"] * 8)
            + "/w320-e4-q96-h2:cn7,cn7,cn7",
            78.5,
            5.2,
            "widths 48/96/192/384 -> 48/48/176/320; depths 2/2/6/2 -> 2/2/8/3 for #Params; no GRN",
        ),  # fmt: skip
    )
}


def _key(text: str) -> str:
    return text.strip().lower().replace("_", "-").replace(" ", "-")


def find_reference(text: str) -> Reference | None:
    """The reference named ``text`` (case-insensitive; ``_`` or a space may stand for ``-``), else None."""
    return REFERENCES.get(_key(text))


def resolve_reference(text: str) -> str | None:
    """The hybrid encoding of the reference named ``text``, or None when it names none."""
    ref = find_reference(text)
    return ref.encoding if ref is not None else None


def reference_names() -> list[str]:
    return list(REFERENCES)


__all__ = ["REFERENCES", "REFERENCE_SPACE", "Reference", "find_reference", "reference_names", "resolve_reference"]
