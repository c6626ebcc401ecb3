"""TensorRT's two API generations on the device: how a network is created and its precision set.

TensorRT 10 sets precision with builder flags (``BuilderFlag.FP16`` / ``INT8``, placeholder
dynamic ranges for an int8 graph without Q/DQ). TensorRT 11 removed those flags and
``set_dynamic_range``: it builds *strongly typed* networks, whose precision comes from the
model itself, an fp16 ONNX (the host converts one before upload, marked with
:data:`FP16_MARK`) or Q/DQ nodes for int8.

Standard library only at import time: packed into the runner zipapp with ``device.py``.
"""

from __future__ import annotations

from typing import Any

#: The ONNX metadata key the host writes on an fp16 copy of a model (``hwnas.runtimes.tensorrt.fp16``).
FP16_MARK = "hwnas.fp16"
CONVERTER_HINT = "pip install onnxconverter-common"


def major(version: str) -> int:
    """``"11.0.0.1"`` -> 11; 0 when unknown."""
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return 0


def generation(version: str) -> str:
    """How ``describe()`` names the API generation: ``"10 (builder flags)"`` / ``"11 (strongly typed)"``."""
    n = major(version)
    if n == 0:
        return "unknown"
    return f"{n} (strongly typed)" if n >= 11 else f"{n} (builder flags)"


def onnx_facts(path: str) -> tuple[bool, bool]:
    """(has Q/DQ nodes, marked fp16 by the host) from the ONNX bytes (op types and keys are plain strings)."""
    with open(path, "rb") as fh:
        data = fh.read()
    return b"QuantizeLinear" in data, FP16_MARK.encode() in data


def check_strongly_typed(precision: str, path: str, qdq: bool, fp16: bool, where: str) -> None:
    """On TensorRT 11 the model must carry the precision asked for: raise a clear error when it does not."""
    if precision == "int8" and not qdq:
        raise RuntimeError(
            f"int8 on TensorRT 11 ({where}) needs a Q/DQ model: TensorRT 11 removed BuilderFlag.INT8 and "
            f"dynamic ranges, and {path} has no QuantizeLinear nodes (build the int8 export, "
            "hwnas export --format tensorrt --precision int8 --calibration ..., or profile in fp16)"
        )
    if precision == "fp16" and not fp16 and not qdq:
        raise RuntimeError(
            f"fp16 on TensorRT 11 ({where}) needs an fp16 ONNX: TensorRT 11 removed BuilderFlag.FP16 and "
            f"builds strongly typed networks, and {path} is float32. Install the converter on the host "
            f"({CONVERTER_HINT}) so hwnas uploads an fp16 copy, or profile in fp32"
        )


def network_plan(trt: Any, precision: str, placeholder_ranges: bool) -> tuple[int, list[str], bool]:
    """(``create_network`` flags, ``BuilderFlag`` names to set, set placeholder int8 ranges) for ``trt``.

    TensorRT 11: strongly typed, no precision flags, no ranges. TensorRT 10: explicit batch
    (the only mode), FP16 for fp16 and int8, INT8 for int8. Older: the EXPLICIT_BATCH flag too."""
    n = major(trt.__version__)
    if n >= 11:
        return 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED), [], False
    flags = 0 if n >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    names = []
    if precision in ("fp16", "int8"):
        names.append("FP16")
    if precision == "int8":
        names.append("INT8")
    return flags, names, precision == "int8" and placeholder_ranges
