"""TensorRT: a serialised engine (``model.<precision>.engine``) for an NVIDIA GPU, built with the
device side's engine builder (``hwnas.runtimes.tensorrt.device.build_engine``).

An engine is specific to the GPU and the TensorRT build that made it, so this format
only exists where TensorRT and a GPU are both present (a workstation GPU, or a
Jetson running hwnas); elsewhere it fails before anything is written, with an error
naming what is missing. Precision: fp32, fp16 (the default unless the device says
otherwise) or int8. int8 engines are built from a *calibrated* symmetric Q/DQ graph
(``--calibration`` images, explicit quantisation), never from placeholder ranges, so
their outputs mean something. Engines are built for a fixed batch of 1.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from hwnas.devices import Device
from hwnas.errors import HwnasError, MissingDependency
from hwnas.export.base import ArtifactReport, ArtifactWriter, ExportContext
from hwnas.runtimes.tensorrt.device import build_engine, tensorrt_python
from hwnas.runtimes.tensorrt.fp16 import write_fp16
from hwnas.runtimes.tensorrt.precision import major

INSTALL_HINT = "pip install 'hwnas[tensorrt]' on a machine with an NVIDIA GPU"


def gpu_visible() -> bool:
    """True when a CUDA device is visible: cuda-python's device count, else nvidia-smi or Jetson nodes."""
    _, cudart = tensorrt_python()
    if cudart is not None:
        try:
            err, count = cudart.cudaGetDeviceCount()
            return int(err) == 0 and count > 0
        except Exception:  # a driver that cannot initialise is "no GPU" for our purpose
            return False
    exe = shutil.which("nvidia-smi")
    if exe:
        try:
            return subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20).stdout.strip() != ""
        except (OSError, subprocess.TimeoutExpired):
            return False
    return os.path.exists("/dev/nvhost-ctrl-gpu")  # Jetson


class TensorRTWriter(ArtifactWriter):
    name = "tensorrt"
    title = "TensorRT engine"
    file_name = "model.engine"
    runtime = "tensorrt"
    needs = ("onnx",)
    precisions = ("fp16", "fp32", "int8")
    takes_precision = True
    build_order = 40

    def precision_for(self, requested: str | None, device: Device) -> str:
        if requested:
            return requested
        return device.precision if device.runtime == self.runtime else "fp16"

    def needs_calibration_for(self, requested: str | None, device: Device) -> bool:
        return self.precision_for(requested, device) == "int8"  # calibrated Q/DQ, never placeholder ranges

    def check_available(self) -> None:
        try:
            import tensorrt  # noqa: F401
        except ImportError:
            missing = (
                "the tensorrt Python package is not installed (an NVIDIA GPU is visible)"
                if gpu_visible()
                else "building an engine needs the tensorrt package and an NVIDIA GPU, and this machine has neither"
            )
            raise MissingDependency(
                "TensorRT",
                f"{missing} ({INSTALL_HINT}); model.onnx can be built into an engine on the device with trtexec",
            ) from None
        if not gpu_visible():
            raise MissingDependency(
                "an NVIDIA GPU",
                "TensorRT is installed but no CUDA device is visible; build the engine on the target GPU or Jetson",
            )

    def write(self, ctx: ExportContext) -> ArtifactReport:
        import tensorrt as trt

        from hwnas.runtimes.onnxruntime.export import quantize_qdq, write_clean_onnx

        precision = self.precision_for(ctx.precision, ctx.device)
        source = ctx.artifacts["onnx"]
        if ctx.dynamic_batch:  # the device side's builder makes fixed-shape engines (no optimisation profiles)
            source = ctx.scratch / "static.onnx"
            write_clean_onnx(ctx, source, dynamic_batch=False)
        checks: dict[str, object] = {"tensorrt": trt.__version__, "precision": precision, "batch": 1}
        if precision == "int8":
            if ctx.calibration is None:
                raise HwnasError("an int8 TensorRT engine needs --calibration images")
            qdq = ctx.scratch / "static.qdq.onnx"
            checks["quantization"] = quantize_qdq(source, qdq, ctx.calibration, ctx.scratch, symmetric=True)
            source = qdq
        elif precision == "fp16" and major(trt.__version__) >= 11:  # strongly typed: the model carries fp16
            source = write_fp16(source, ctx.scratch / "static.fp16.onnx")
            checks["strongly_typed"] = True
        file_name = f"model.{precision}.engine"
        path = ctx.out_dir / file_name
        try:
            build_engine(str(source), str(path), precision, placeholder_ranges=False)
        except Exception as exc:  # TensorRT's builder errors: keep the first line
            raise HwnasError(f"TensorRT could not build the engine: {str(exc).strip().splitlines()[0]}") from None
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        with open(path, "rb") as fh:
            engine = runtime.deserialize_cuda_engine(fh.read())
        if engine is None:
            raise HwnasError(f"TensorRT cannot load the engine it just built ({file_name})")
        checks["io_tensors"] = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        checks["loads"] = "deserialize_cuda_engine"
        notes = (
            "engines run only on the GPU model and TensorRT version that built them",
            "parity with PyTorch is not checked for engines; model.onnx (the engine's source) is",
        )
        return ArtifactReport(self.name, file_name, precision, checks, None, notes=notes)


WRITERS = (TensorRTWriter,)
