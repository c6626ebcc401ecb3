"""The device document: the fields of a ``devices/*.yaml`` file, their types, and their validation.

:class:`Device` is what the rest of hwnas sees; :func:`parse_device` and
:func:`load_device_file` build it from YAML, naming the file and the field in every
error. :mod:`hwnas.devices` finds devices by name. Fields::

    name: host-cpu                 # required; also the table's file name
    description: ...               # one line
    aliases: [cpu]                 # other names --device accepts
    runtime: onnxruntime           # a registered runtime (hwnas.runtimes): onnxruntime | tensorrt | coreml
                                   # | litert | openvino
    provider: CPUExecutionProvider # ORT execution provider / Core ML compute units / TensorRT: gpu /
                                   # LiteRT: cpu (XNNPACK) | gpu (adb only) / OpenVINO: CPU | GPU | NPU
    precision: fp32                # fp32 | fp16 | int8
    threads: 1                     # intra-op threads (ORT, LiteRT, OpenVINO); null lets the runtime choose
    streams: 1                     # OpenVINO only: inference streams (null: the LATENCY hint chooses)
    batch_size: 1
    graph_optimization: all        # ORT: disable | basic | extended | all
    connection: local              # local | ssh | adb
    ssh: {host, user, port, key, python, work_dir, connect_timeout_s, options}
    adb: {serial, adb, benchmark_model, work_dir}
                                   # adb: an Android phone timed with LiteRT's benchmark_model
    timing: {warmup_runs, warmup_s, min_runs, min_time_s, clock, rounds, estimator}
                                   # clock: wall | thread_cpu; estimator: median | p10
    notes: ...                     # how to make the device's clocks stable, etc.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hwnas.device_fields import (  # noqa: F401  (re-exported: the public device API)
    ADB_FIELDS,
    SAFE_SSH_OPTIONS,
    SSH_FIELDS,
    AdbSettings,
    FieldChecker,
    SSHSettings,
    parse_adb,
    parse_ssh,
)
from hwnas.errors import UsageError
from hwnas.io import read_text
from hwnas.runtimes import RUNTIMES
from hwnas.runtimes.base import DeviceSettings, SettingError
from hwnas.runtimes.timing import CLOCKS, ESTIMATORS, TimingSettings

PRECISIONS = ("fp32", "fp16", "int8")
CONNECTIONS = ("local", "ssh", "adb")
GRAPH_OPTIMIZATIONS = ("disable", "basic", "extended", "all")


@dataclass(frozen=True)
class Device:
    """One target device, validated; ``source`` is the YAML file it came from."""

    name: str
    runtime: str
    precision: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    provider: str | None = None
    threads: int | None = None
    streams: int | None = None
    batch_size: int = 1
    graph_optimization: str = "all"
    connection: str = "local"
    ssh: SSHSettings | None = None
    adb: AdbSettings | None = None
    timing: TimingSettings = field(default_factory=TimingSettings)
    notes: str = ""
    source: str = ""

    @property
    def is_remote(self) -> bool:
        """Reached over SSH or adb: artifacts are copied to the device before they are timed."""
        return self.connection in ("ssh", "adb")

    def where(self) -> str:
        """``local`` or ``user@host:port`` for messages."""
        if self.adb is not None:
            return f"adb:{self.adb.serial}"
        if self.ssh is None:
            return "local"
        user = f"{self.ssh.user}@" if self.ssh.user else ""
        port = f":{self.ssh.port}" if self.ssh.port else ""
        return f"{user}{self.ssh.host}{port}"

    def runner_options(self) -> dict[str, Any]:
        """The options the on-device runner needs (see ``hwnas/ondevice/protocol.py``)."""
        return {
            "precision": self.precision,
            "threads": self.threads,
            "streams": self.streams,
            "provider": self.provider,
            "graph_optimization": self.graph_optimization,
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["aliases"] = list(self.aliases)
        if self.ssh is not None:
            data["ssh"]["options"] = list(self.ssh.options)
        return data


# ---- validation -----------------------------------------------------------------------------
TOP_FIELDS = {
    "name",
    "description",
    "aliases",
    "runtime",
    "provider",
    "precision",
    "threads",
    "streams",
    "batch_size",
    "graph_optimization",
    "connection",
    "ssh",
    "adb",
    "timing",
    "notes",
}
TIMING_FIELDS = {"warmup_runs", "warmup_s", "min_runs", "min_time_s", "clock", "rounds", "estimator"}


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_device_file(path: str | os.PathLike[str]) -> Device:
    """Parse and validate one device YAML file."""
    path = Path(path)
    where = _display(path)
    try:
        data = yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        raise UsageError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: a device file must be a YAML mapping of fields")
    return parse_device(data, where=where, source=str(path))


def parse_device(data: dict[str, Any], *, where: str = "<device>", source: str = "") -> Device:
    """Validate a device mapping (as read from YAML)."""
    if "pool" in data:
        raise UsageError(
            f"{where} is a device pool (hwnas/latency/pool.py): `hwnas profile --device` takes it; "
            "other commands take one member, or the pool's table with --latency-table"
        )
    top = FieldChecker(where, data)
    top.unknown(TOP_FIELDS)
    name = top.string("name", required=True)
    assert name is not None
    if any(c in name for c in "/\\ ") or name.startswith("."):
        raise top.fail("name", f"must be a plain file name (no spaces or slashes), got {name!r}")
    runtime = top.choice("runtime", tuple(RUNTIMES.names()))
    runtime_cls = RUNTIMES.get(runtime)
    precision = top.choice("precision", PRECISIONS, default="fp32")
    provider = top.string("provider", runtime_cls.default_provider)
    try:
        runtime_cls.check_settings(
            DeviceSettings(
                precision,
                provider,
                top.data.get("threads"),
                streams=top.data.get("streams"),
                connection=str(top.data.get("connection", "local")),
            )
        )
    except SettingError as exc:
        raise top.fail(exc.field, exc.message) from None
    connection = top.choice("connection", CONNECTIONS, default="local")
    if connection not in runtime_cls.connections:
        raise top.fail(
            "connection", f"{connection} is not available for {runtime} (use {' or '.join(runtime_cls.connections)})"
        )
    if top.data.get("streams") is not None and not runtime_cls.takes_streams:
        able = ", ".join(n for n in RUNTIMES if RUNTIMES.get(n).takes_streams)
        raise top.fail("streams", f"applies to {able} devices only (this one runs {runtime})")
    ssh_data = top.mapping("ssh")
    ssh = None
    if connection == "ssh":
        if ssh_data is None:
            raise top.fail("ssh", "is required when connection is ssh (host, user, port, key, python, work_dir)")
        ssh = parse_ssh(where, ssh_data)
    elif ssh_data is not None:
        raise top.fail("ssh", "is only allowed with connection: ssh")
    adb_data = top.mapping("adb")
    adb = None
    if connection == "adb":
        if adb_data is None:
            raise top.fail(
                "adb", "is required when connection is adb (serial, and optionally adb, benchmark_model, work_dir)"
            )
        adb = parse_adb(where, adb_data)
    elif adb_data is not None:
        raise top.fail("adb", "is only allowed with connection: adb")
    timing_data = top.mapping("timing") or {}
    tc = FieldChecker(where, timing_data, "timing.")
    tc.unknown(TIMING_FIELDS)
    defaults = TimingSettings()
    timing = TimingSettings(
        warmup_runs=tc.integer("warmup_runs", defaults.warmup_runs, minimum=0, maximum=100_000) or 0,
        warmup_s=tc.number("warmup_s", defaults.warmup_s, minimum=0.0, maximum=600.0),
        min_runs=tc.integer("min_runs", defaults.min_runs, minimum=1, maximum=1_000_000) or 1,
        min_time_s=tc.number("min_time_s", defaults.min_time_s, minimum=0.0, maximum=600.0),
        clock=tc.choice("clock", CLOCKS, default="wall"),
        rounds=tc.integer("rounds", defaults.rounds, minimum=1, maximum=100) or 1,
        estimator=tc.choice("estimator", ESTIMATORS, default="median"),
    )
    if connection == "adb" and (timing.estimator != "median" or timing.clock != "wall" or timing.rounds != 1):
        bad = "estimator" if timing.estimator != "median" else "clock" if timing.clock != "wall" else "rounds"
        raise tc.fail(
            bad,
            "must be left at its default on adb devices (benchmark_model times on the phone and reports its own "
            "median; estimator median, clock wall, rounds 1)",
        )
    if timing.clock == "thread_cpu" and (not runtime_cls.thread_cpu_clock or top.data.get("threads") != 1):
        able = " or ".join(n for n in RUNTIMES if RUNTIMES.get(n).thread_cpu_clock)
        raise tc.fail(
            "clock", f"thread_cpu needs runtime {able} with threads: 1 (the model must run on the timing thread)"
        )
    return Device(
        name=name,
        runtime=runtime,
        precision=precision,
        description=top.string("description", "") or "",
        aliases=top.strings("aliases"),
        provider=provider,
        threads=top.integer("threads", None, minimum=1, maximum=1024, optional=True),
        streams=top.integer("streams", None, minimum=1, maximum=256, optional=True),
        batch_size=top.integer("batch_size", 1, minimum=1, maximum=4096) or 1,
        graph_optimization=top.choice("graph_optimization", GRAPH_OPTIMIZATIONS, default="all"),
        connection=connection,
        ssh=ssh,
        adb=adb,
        timing=timing,
        notes=top.string("notes", "") or "",
        source=source,
    )
