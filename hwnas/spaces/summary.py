"""The facts about one architecture that ``hwnas info`` prints and other commands record."""

from __future__ import annotations

import re
from typing import Any

from hwnas.counting import count_flops, count_params
from hwnas.errors import InvalidArchitecture, UsageError
from hwnas.spaces.base import SearchSpace
from hwnas.spaces.references import REFERENCE_SPACE, Reference, find_reference, reference_names

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_ -]*$")


def resolve_arch_text(space: SearchSpace, arch_text: str) -> tuple[str, Reference | None]:
    """``arch_text`` itself, or the encoding of the reference model it names (``edgenext-xs``).

    A reference name is tried first: no space's encoding can be a bare
    ``family-size`` name, so nothing that decodes today changes meaning.
    """
    ref = find_reference(arch_text)
    if ref is None:
        return arch_text, None
    if ref.space != space.name:
        raise UsageError(
            f"{ref.name!r} is a reference model of the {ref.space!r} space, not {space.name!r} "
            f"(drop --space {space.name})"
        )
    return ref.encoding, ref


def describe_arch(
    space: SearchSpace, arch_text: str, *, resolution: int | None = None, num_classes: int | None = None
) -> dict[str, Any]:
    """Decode, build once, and report #Params (M), FLOPs (M) and the block list.

    ``arch_text`` may name a reference model (:mod:`hwnas.spaces.references`); the
    result then has a ``reference`` entry with its name and published figures.
    """
    arch_text, ref = resolve_arch_text(space, arch_text)
    try:
        arch = space.decode(arch_text)
    except InvalidArchitecture as exc:
        if ref is None and space.name == REFERENCE_SPACE and _NAME_RE.match(arch_text.strip()):
            raise InvalidArchitecture(
                f"{arch_text.strip()!r} is neither a {space.name} encoding nor a reference "
                f"model ({', '.join(reference_names())})"
            ) from exc
        raise
    resolution = resolution or space.default_resolution
    num_classes = num_classes or space.default_num_classes
    blocks = space.blocks(arch, resolution, num_classes)
    model = space.build(arch, num_classes=num_classes, resolution=resolution)
    shape = space.input_shape(resolution)
    summary: dict[str, Any] = {
        "arch": space.encode(arch),
        "space": space.name,
        "resolution": resolution,
        "num_classes": num_classes,
        "input_shape": list(shape),
        "params_m": count_params(model) / 1e6,
        "flops_m": count_flops(model, shape) / 1e6,
        "blocks": [{"key": b.key, "kind": b.kind, "input_shape": list(b.input_shape)} for b in blocks],
    }
    if ref is not None:
        summary["reference"] = {
            "name": ref.name,
            "published_top1": ref.published_top1,
            "published_params_m": ref.published_params_m,
            "note": ref.note,
        }
    return summary
