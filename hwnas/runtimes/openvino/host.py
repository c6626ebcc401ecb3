"""OpenVINO on the host: the model exported to ONNX (the exporter profiling uses) and converted to
OpenVINO IR with ``openvino.convert_model``; fp32, or fp16 (weights compressed to fp16 and the
device asked to infer in f16). int8 (NNCF) is not offered.

The artifact is a folder ``<name>.openvino/`` holding ``model.xml`` and ``model.bin``, so the
pair travels (cache, SSH upload, export) as one thing. Timing (``device.py``) uses the
LATENCY performance hint with the device file's ``streams`` and ``threads`` set explicitly.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from hwnas.errors import HwnasError, MissingDependency
from hwnas.runtimes.base import RUNTIMES, DeviceSettings, Runtime, SettingError

if TYPE_CHECKING:
    from torch import nn

INSTALL_HINT = "pip install 'hwnas[openvino]'"
DEVICE_NAME = re.compile(r"(CPU|GPU|NPU)(\.[0-9]+)?")
IR_XML = "model.xml"


@RUNTIMES.register("openvino")
class OpenVINO(Runtime):
    name = "openvino"
    title = "OpenVINO"
    precisions = ("fp32", "fp16")
    default_provider = "CPU"
    artifact_suffix = ".openvino"
    install_hint = INSTALL_HINT
    takes_streams = True
    host_device = "host-cpu-openvino"
    timed_where = "an OpenVINO device (host-cpu-openvino, intel-igpu-openvino)"
    host_modules = ("openvino",)
    timing_modules = (("openvino",),)

    @classmethod
    def check_settings(cls, settings: DeviceSettings) -> None:
        if settings.precision == "int8":
            raise SettingError("precision", "int8 is not converted for openvino here (no NNCF step); use fp32 or fp16")
        if settings.provider is None or not DEVICE_NAME.fullmatch(settings.provider):
            raise SettingError(
                "provider", f"must be an OpenVINO device: CPU, GPU, NPU (or GPU.1 ...), got {settings.provider!r}"
            )
        if settings.threads is not None and not settings.provider.startswith("CPU"):
            raise SettingError("threads", f"applies to the CPU device only (this device uses {settings.provider})")
        streams = settings.streams
        if streams is not None and (isinstance(streams, bool) or not isinstance(streams, int) or streams < 1):
            raise SettingError("streams", f"must be an integer of at least 1 (inference streams), got {streams!r}")

    def prepare(self, model: nn.Module, input_shape: tuple[int, ...], out_path: Path) -> Path:
        from hwnas.onnx_export import export_onnx

        with tempfile.TemporaryDirectory(prefix="hwnas-ov-") as scratch:
            onnx_path = export_onnx(model, input_shape, Path(scratch) / "model.onnx")
            return onnx_to_ir(onnx_path, out_path, fp16=self.device.precision == "fp16")


def onnx_to_ir(onnx_path: Path, out_dir: Path, *, fp16: bool) -> Path:
    """Convert ``onnx_path`` into the IR folder ``out_dir`` (``model.xml`` + ``model.bin``), swapped in whole."""
    try:
        import openvino as ov
    except ImportError:
        raise MissingDependency("openvino", INSTALL_HINT) from None
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(f".tmp-{out_dir.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model = ov.convert_model(str(onnx_path))
        ov.save_model(model, str(tmp / IR_XML), compress_to_fp16=fp16)
    except Exception as exc:  # OpenVINO's frontend names the operator it has no conversion for
        shutil.rmtree(tmp, ignore_errors=True)
        raise conversion_error(exc) from None
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return out_dir


#: How OpenVINO's frontends name what they cannot convert ("No conversion rule found for operations: X").
_OPERATOR = re.compile(
    r"(?:No conversion rule found for operations|following (?:ONNX )?operations):\s*([A-Za-z0-9_.:-]+)"
)


def conversion_error(exc: BaseException) -> HwnasError:
    text = " ".join(str(exc).split())
    found = _OPERATOR.search(text)
    if found:
        return HwnasError(f"OpenVINO could not convert the ONNX model (operator {found.group(1)}): no conversion rule")
    return HwnasError(f"OpenVINO could not convert the ONNX model: {text[:300]}")
