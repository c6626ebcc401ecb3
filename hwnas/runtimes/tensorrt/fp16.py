"""The host side's fp16 copy of an ONNX model, for TensorRT 11's strongly typed builds.

TensorRT 11 has no ``BuilderFlag.FP16``: an fp16 engine is built from an fp16 model. The
host converts the exported ONNX with onnxconverter-common (inputs and outputs stay float32)
and marks it (metadata key :data:`~hwnas.runtimes.tensorrt.precision.FP16_MARK`) so the
device knows it carries fp16. TensorRT 10 builds the same copy with its FP16 flag.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from hwnas.errors import MissingDependency
from hwnas.runtimes.tensorrt.precision import CONVERTER_HINT, FP16_MARK


def converter_available() -> bool:
    return importlib.util.find_spec("onnxconverter_common") is not None


def write_fp16(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Write an fp16 copy of ``src`` at ``dst`` (atomic; ``src == dst`` converts in place)."""
    import onnx

    try:
        from onnxconverter_common import float16
    except ImportError:
        raise MissingDependency(
            "onnxconverter-common",
            f"TensorRT 11 builds fp16 engines from an fp16 ONNX only ({CONVERTER_HINT})",
        ) from None
    model = float16.convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    entry = model.metadata_props.add()
    entry.key, entry.value = FP16_MARK, "1"
    dst = Path(dst)
    tmp = dst.with_name(dst.name + ".tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, dst)
    return dst
