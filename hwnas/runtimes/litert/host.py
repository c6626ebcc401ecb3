"""LiteRT on the host: the model converted to ``.tflite`` with Google's converter, ``litert-torch``.

``litert_torch.convert`` traces the module with ``torch.export`` and lowers it to a LiteRT
flatbuffer. What is timed (table blocks, validation networks) takes NHWC input, the layout
XNNPACK computes in and an Android app feeds (``convert_to_tflite(channels_last=True)``); the
exported ``model.tflite`` keeps NCHW, like the ONNX files.

Only fp32 is converted here: litert-torch 0.10's fp16 recipe is for its
generative API, and its PT2E dynamic int8 path left these convolutions in float32 when
tried, so a device asking for fp16 or int8 is refused rather than timed as fp32.

Timing (``device.py``) uses the LiteRT interpreter with an explicit thread count, here or
on an SSH device through the runner; an Android phone (``connection: adb``) is timed with
LiteRT's own ``benchmark_model`` (``hwnas.transport.adb``).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hwnas.errors import HwnasError, MissingDependency
from hwnas.runtimes.base import RUNTIMES, DeviceSettings, Runtime, SettingError

if TYPE_CHECKING:
    from torch import nn

PROVIDERS = ("cpu", "cpu-builtin", "gpu")  # cpu: XNNPACK; cpu-builtin: LiteRT's own kernels
INSTALL_HINT = "pip install 'hwnas[litert]'"


@RUNTIMES.register("litert")
class LiteRT(Runtime):
    name = "litert"
    title = "LiteRT"
    precisions = ("fp32",)
    default_provider = "cpu"
    artifact_suffix = ".tflite"
    install_hint = INSTALL_HINT
    thread_cpu_clock = True  # one interpreter thread computes on the calling thread (XNNPACK, no pool)
    connections = ("local", "ssh", "adb")
    host_device = "host-cpu-litert"
    timed_where = "a LiteRT device (host-cpu-litert, an SSH board, or a phone over adb)"
    host_modules = ("litert_torch",)
    timing_modules = (("ai_edge_litert", "tflite_runtime"),)
    fewshot_operator_flops = True  # 7x7 depthwise runs 4-6x ONNX Runtime's: 58 % -> 86 % of networks in ±10 %

    @classmethod
    def check_settings(cls, settings: DeviceSettings) -> None:
        if settings.precision != "fp32":
            raise SettingError(
                "precision",
                f"{settings.precision} is not converted for litert here (litert-torch's fp16 recipe is for its "
                "generative API and its dynamic int8 left convolutions in fp32); use fp32",
            )
        if settings.provider not in PROVIDERS:
            raise SettingError(
                "provider", f"must be one of {', '.join(PROVIDERS)} for litert, got {settings.provider!r}"
            )
        if settings.provider == "gpu" and settings.connection != "adb":
            raise SettingError("provider", "gpu (the GPU delegate) is timed only on adb devices (benchmark_model)")
        threads = settings.threads
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise SettingError(
                "threads",
                f"must be an explicit integer of at least 1 for litert (interpreter threads), got {threads!r}",
            )

    @property
    def artifact_tag(self) -> str:
        """Cached files are channels-last, and keyed by the converter's and torch's versions: another
        litert-torch (or torch.export) can write another file for the same block."""
        return f"{self.name}-{self.device.precision}-nhwc-{converter_version()}"

    def prepare(self, model: nn.Module, input_shape: tuple[int, ...], out_path: Path) -> Path:
        return convert_to_tflite(model, input_shape, out_path, channels_last=True)


def converter_version() -> str:
    """``litert-torch-<v>_torch-<v>`` from the installed distributions (nothing imported)."""
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "none"

    return f"litert-torch-{of('litert-torch')}_torch-{of('torch')}".replace("+", "-")


@contextlib.contextmanager
def reused_cia_op_scan() -> Iterator[None]:
    """Scan torch's CompositeImplicitAutograd operators once per set of registrations, not per call.

    ``torch.export``'s ``run_decompositions`` rescans every operator namespace on each call (torch
    does not cache it because a custom op may be registered in between), and litert-torch calls it
    five times per conversion: about 1 s of a block's 5-6 s here. The scan is kept keyed by the
    registered namespaces and CIA registrations, so a new registration scans again. The written
    files are byte-identical (``scripts/bench_conversion.py`` checks every one)."""
    import torch
    import torch._export.utils as export_utils
    import torch.export.decomp_utils as decomp_utils
    import torch.export.exported_program as exported_program

    scan = export_utils._collect_all_valid_cia_ops
    users = [m for m in (exported_program, decomp_utils) if getattr(m, "_collect_all_valid_cia_ops", None) is scan]

    def cached() -> set:
        key = (
            tuple(torch.ops._dir),
            frozenset(torch._C._dispatch_get_registrations_for_dispatch_key("CompositeImplicitAutograd")),
        )
        if key not in _CIA_SCANS:
            _CIA_SCANS.clear()
            _CIA_SCANS[key] = scan()
        return _CIA_SCANS[key]

    for module in users:
        module._collect_all_valid_cia_ops = cached  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in users:
            module._collect_all_valid_cia_ops = scan  # type: ignore[attr-defined]


_CIA_SCANS: dict[tuple, set] = {}


@contextlib.contextmanager
def reused_jax_lowerings() -> Iterator[None]:
    """Keep litert-torch's per-operator JAX lowerings (StableHLO text, then VHLO bytecode) across conversions.

    litert-torch lowers every aten call through ``jax.jit(...).lower()`` and serialises the result,
    caching it only within one conversion, under a fingerprint of the function, its static arguments
    and its tensors' shapes and dtypes (``_wrap.get_cache_fingerprint``). Blocks of one space repeat
    the same calls at the same shapes, so the text and bytecode are kept under that same fingerprint
    for the process (pure functions of it); each conversion still parses and inlines them into its
    own module, so the written file is unchanged (``scripts/bench_conversion.py`` compares bytes)."""
    from litert_torch.backend.jax_bridge import _wrap

    lower, to_vhlo = _wrap._lower_to_ir_text, _wrap._stablehlo_to_vhlo

    def cached_lower(jaxfn: Any, args: Any, kwargs: Any, ir_input_names: Any = None) -> Any:
        getter, inputs = lower(jaxfn, args, kwargs, ir_input_names=ir_input_names)
        key = _wrap.get_cache_fingerprint((jaxfn, args, kwargs, ir_input_names))
        if key is None:
            return getter, inputs

        def text() -> str:
            if key not in _JAX_TEXTS:
                _JAX_TEXTS[key] = getter()
            return _JAX_TEXTS[key]

        return text, inputs

    def cached_vhlo(text: str) -> bytes:
        if text not in _VHLO:
            _VHLO[text] = to_vhlo(text)
        return _VHLO[text]

    if len(_JAX_TEXTS) > _KEEP_LOWERINGS:  # a bound: a few hundred kB per thousand lowerings
        _JAX_TEXTS.clear()
        _VHLO.clear()
    _wrap._lower_to_ir_text, _wrap._stablehlo_to_vhlo = cached_lower, cached_vhlo
    try:
        yield
    finally:
        _wrap._lower_to_ir_text, _wrap._stablehlo_to_vhlo = lower, to_vhlo


_JAX_TEXTS: dict[Any, str] = {}
_VHLO: dict[str, bytes] = {}
_KEEP_LOWERINGS = 20_000


@contextlib.contextmanager
def captured_native_output() -> Iterator[list[str]]:
    """Send what C++ code prints on fds 1 and 2 (absl logs, the converter's progress) to a buffer.

    Yields a list that holds the captured lines once the block ends, so a failure can quote them.
    """
    lines: list[str] = []
    with tempfile.TemporaryFile(mode="w+b") as buf:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(buf.fileno(), 1)
            os.dup2(buf.fileno(), 2)
            yield lines
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            buf.seek(0)
            lines.extend(buf.read().decode("utf-8", "replace").splitlines())


_OPERATOR = re.compile(r"\b(aten[.:]+[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?|tfl\.[A-Za-z0-9_]+|stablehlo\.[A-Za-z0-9_]+)")


def conversion_error(exc: BaseException, log: list[str]) -> HwnasError:
    """One line: what litert-torch said, naming the operator it could not lower when it names one."""
    text = str(exc).strip() or type(exc).__name__
    ops = _OPERATOR.findall(text) or [m for line in log for m in _OPERATOR.findall(line) if "error" in line.lower()]
    first = text.splitlines()[0][:300]
    where = f" (operator {ops[0]})" if ops else ""
    return HwnasError(f"litert-torch could not convert the network{where}: {type(exc).__name__}: {first}")


def convert_to_tflite(
    model: nn.Module,
    input_shape: tuple[int, ...],
    out_path: Path,
    *,
    channels_last: bool = False,
    reuse: bool = True,
) -> Path:
    """Write ``model`` at ``input_shape`` as an fp32 ``.tflite`` file (atomically); HwnasError on failure.

    ``channels_last``: the file takes (and, for a 4-D output, returns) NHWC tensors, the layout
    XNNPACK computes in and an Android app feeds, so no transpose sits at its boundaries; tables
    time blocks and networks this way. (It was tried as the cure for the few-shot LiteRT table's
    calibration error and is not one: 10 calibration networks were 50 % within ±10 % with NCHW
    blocks, 40 % with NHWC; see docs/runtimes.md.) Exported files keep NCHW, the interface every
    other artifact of an export has. ``reuse=False`` converts as before issue 25, without
    :func:`reused_cia_op_scan` and :func:`reused_jax_lowerings` (the benchmark's old path); the
    file is the same.
    """
    import warnings

    import torch

    from hwnas.io import atomic_path

    try:
        import litert_torch
    except ImportError:
        raise MissingDependency("litert-torch", INSTALL_HINT) from None
    out_path = Path(out_path)
    model = model.eval()
    sample = torch.zeros(input_shape)
    if channels_last and len(input_shape) == 4:
        with torch.no_grad():
            out_rank = model(sample).ndim
        model = litert_torch.to_channel_last_io(model, args=[0], outputs=[0] if out_rank == 4 else [])
        sample = sample.permute(0, 2, 3, 1).contiguous()
    with captured_native_output() as log:
        try:
            with torch.no_grad(), warnings.catch_warnings(), contextlib.ExitStack() as stack:
                if reuse:
                    stack.enter_context(reused_cia_op_scan())
                    stack.enter_context(reused_jax_lowerings())
                warnings.simplefilter("ignore")
                edge = litert_torch.convert(model, (sample,))
                with atomic_path(out_path) as tmp:
                    edge.export(str(tmp))
        except Exception as exc:  # the converter raises many kinds; say which op when it does
            failure: BaseException | None = exc
        else:
            failure = None
    if failure is not None:
        raise conversion_error(failure, log) from None
    return out_path
