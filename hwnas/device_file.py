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

import math
import os
import re
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hwnas.errors import UsageError, excerpt
from hwnas.io import read_text
from hwnas.runtimes import RUNTIMES
from hwnas.runtimes.base import DeviceSettings, SettingError
from hwnas.runtimes.timing import CLOCKS, ESTIMATORS, TimingSettings

PRECISIONS = ("fp32", "fp16", "int8")
CONNECTIONS = ("local", "ssh", "adb")
GRAPH_OPTIMIZATIONS = ("disable", "basic", "extended", "all")


@dataclass(frozen=True)
class SSHSettings:
    """How the system ``ssh`` client reaches a device (``~/.ssh/config`` applies too).

    ``work_dir`` is on the device; a relative path is relative to the remote home.
    ``options`` are extra ``-o Key=Value`` options (jump hosts, known_hosts files).
    """

    host: str
    user: str | None = None
    port: int | None = None
    key: str | None = None
    python: str = "python3"
    work_dir: str = ".cache/hwnas-runner"
    connect_timeout_s: int = 10
    options: tuple[str, ...] = ()


#: An adb serial (``adb devices``: USB serials, ``host:port`` for network devices, ``emulator-5554``).
ADB_SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
#: A path on the phone: absolute, no shell metacharacters (it is quoted anyway; this keeps it readable).
DEVICE_PATH = re.compile(r"/[A-Za-z0-9._/+-]*")


@dataclass(frozen=True)
class AdbSettings:
    """How ``adb`` reaches an Android phone and where LiteRT's ``benchmark_model`` is on it.

    ``serial`` is required (``adb devices`` lists it), so a table is never timed on
    whichever phone happens to be plugged in. ``benchmark_model`` is the path of LiteRT's
    prebuilt Android benchmark binary on the phone; ``work_dir`` is where models are pushed.
    """

    serial: str
    adb: str = "adb"
    benchmark_model: str = "/data/local/tmp/benchmark_model"
    work_dir: str = "/data/local/tmp/hwnas"


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
ADB_FIELDS = {"serial", "adb", "benchmark_model", "work_dir"}
SSH_FIELDS = {"host", "user", "port", "key", "python", "work_dir", "connect_timeout_s", "options"}
TIMING_FIELDS = {"warmup_runs", "warmup_s", "min_runs", "min_time_s", "clock", "rounds", "estimator"}


class _Checker:
    """Reads fields of one YAML mapping and raises UsageError naming the file and field."""

    def __init__(self, where: str, data: dict[str, Any], prefix: str = "") -> None:
        self.where, self.data, self.prefix = where, data, prefix

    def fail(self, name: str, message: str) -> UsageError:
        return UsageError(f"{self.where}: field '{self.prefix}{name}' {message}")

    def unknown(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise UsageError(
                    f"{self.where}: unknown field '{self.prefix}{key}' (known: {', '.join(sorted(allowed))})"
                )

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        if name not in self.data or self.data[name] is None:
            if required:
                raise self.fail(name, "is required")
            return default
        value = self.data[name]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, f"must be a non-empty string, got {value!r}")
        return value.strip()

    def choice(self, name: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.data.get(name, default)
        if value is None:
            raise self.fail(name, f"is required (one of {', '.join(choices)})")
        if value not in choices:
            raise self.fail(name, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def integer(
        self, name: str, default: int | None, *, minimum: int, maximum: int, optional: bool = False
    ) -> int | None:
        """An integer in [minimum, maximum]: the bound keeps a typo from asking for days of timing."""
        value = self.data.get(name, default)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise self.fail(name, f"must be an integer from {minimum} to {maximum}, got {value!r}")
        return value

    def number(self, name: str, default: float, *, minimum: float, maximum: float) -> float:
        """A finite number in [minimum, maximum] (NaN compares false to every bound, so it is refused)."""
        value = self.data.get(name, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not minimum <= value <= maximum
        ):
            raise self.fail(name, f"must be a number from {minimum:g} to {maximum:g}, got {value!r}")
        return float(value)

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name, [])
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(name, f"must be a list of strings, got {value!r}")
        return tuple(value)

    def mapping(self, name: str) -> dict[str, Any] | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, dict):
            raise self.fail(name, f"must be a mapping, got {value!r}")
        return value


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
    top = _Checker(where, data)
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
        ssh = _parse_ssh(where, ssh_data)
    elif ssh_data is not None:
        raise top.fail("ssh", "is only allowed with connection: ssh")
    adb_data = top.mapping("adb")
    adb = None
    if connection == "adb":
        if adb_data is None:
            raise top.fail(
                "adb", "is required when connection is adb (serial, and optionally adb, benchmark_model, work_dir)"
            )
        adb = _parse_adb(where, adb_data)
    elif adb_data is not None:
        raise top.fail("adb", "is only allowed with connection: adb")
    timing_data = top.mapping("timing") or {}
    tc = _Checker(where, timing_data, "timing.")
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


def _port(c: _Checker) -> int | None:
    return c.integer("port", None, minimum=1, maximum=65535, optional=True)


#: ``ssh.options`` keys a device file may set. Options that make ssh run a local command
#: (ProxyCommand, LocalCommand, KnownHostsCommand, Match exec, ...) or redirect its
#: control socket are not in it: a device file must never run anything on this machine.
SAFE_SSH_OPTIONS = frozenset(
    k.lower()
    for k in (
        "AddressFamily",
        "BindAddress",
        "CheckHostIP",
        "Ciphers",
        "Compression",
        "ConnectionAttempts",
        "GlobalKnownHostsFile",
        "HashKnownHosts",
        "HostKeyAlgorithms",
        "HostKeyAlias",
        "HostName",
        "IdentitiesOnly",
        "IdentityFile",
        "IPQoS",
        "KexAlgorithms",
        "LogLevel",
        "MACs",
        "NumberOfPasswordPrompts",
        "PreferredAuthentications",
        "ProxyJump",
        "PubkeyAcceptedAlgorithms",
        "PubkeyAuthentication",
        "RekeyLimit",
        "ServerAliveCountMax",
        "ServerAliveInterval",
        "StrictHostKeyChecking",
        "TCPKeepAlive",
        "UpdateHostKeys",
        "UserKnownHostsFile",
        "VerifyHostKeyDNS",
    )
)


def _ssh_options(c: _Checker) -> tuple[str, ...]:
    options = c.strings("options")
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise c.fail("options", f"entries are Key=Value ssh options, got {option!r}")
        if key.strip().lower() not in SAFE_SSH_OPTIONS:
            raise c.fail(
                "options",
                f"{key.strip()!r} is not an allowed ssh option (a device file may not run local "
                f"commands; put it in ~/.ssh/config instead): allowed are " + ", ".join(sorted(SAFE_SSH_OPTIONS)),
            )
        if "\n" in option or "\r" in option:
            raise c.fail("options", f"{option!r} may not contain line breaks")
    return options


#: The interpreter's own options ``ssh.python`` may add (``-X`` takes a value): none of them
#: runs code other than the runner (``-c``, ``-m``, ``-W``'s category imports are not here).
_PYTHON_FLAGS = re.compile(r"-[BEIOPSbqsu]+|-X[^-\s]\S*")
_PYTHON_NAME = re.compile(r"(python|pypy)[0-9.]*")


def _python_command(c: _Checker) -> str:
    """The remote interpreter as a command whose every word is shell-quoted (it runs in a remote shell).

    It must be a Python interpreter (``python3``, a path to one) with only interpreter flags:
    a device file may not name another program or code for it to run on the device."""
    text = c.string("python", "python3") or "python3"
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise c.fail("python", f"is not a command line ({exc}): {excerpt(text)}") from None
    if not words:
        raise c.fail("python", "is empty")
    program, flags = words[0], " ".join(words[1:]).replace("-X ", "-X")  # `-X dev` is `-Xdev`
    flags_ok = all(_PYTHON_FLAGS.fullmatch(flag) for flag in flags.split())
    if not _PYTHON_NAME.fullmatch(program.rsplit("/", 1)[-1]) or not flags_ok:
        raise c.fail(
            "python",
            f"must be a Python interpreter (python3, or a path to one) with only interpreter flags "
            f"such as -S, -u, -I or -X <option>, got {excerpt(text)}",
        )
    return " ".join(shlex.quote(w) for w in words)


def _parse_ssh(where: str, data: dict[str, Any]) -> SSHSettings:
    c = _Checker(where, data, "ssh.")
    c.unknown(SSH_FIELDS)
    host = c.string("host", required=True)
    assert host is not None
    key = c.string("key")
    return SSHSettings(
        host=host,
        user=c.string("user"),
        port=_port(c),
        key=str(Path(key).expanduser()) if key else None,
        python=_python_command(c),
        work_dir=c.string("work_dir", ".cache/hwnas-runner") or ".cache/hwnas-runner",
        connect_timeout_s=c.integer("connect_timeout_s", 10, minimum=1, maximum=600) or 10,
        options=_ssh_options(c),
    )


def _parse_adb(where: str, data: dict[str, Any]) -> AdbSettings:
    """The ``adb`` mapping: every value is checked here and passed to ``adb`` as one list argument."""
    c = _Checker(where, data, "adb.")
    c.unknown(ADB_FIELDS)
    serial = c.string("serial")
    if serial is None:
        raise c.fail("serial", "is required: the phone's serial as `adb devices` lists it (e.g. 35121FDH2000XY)")
    if not ADB_SERIAL.fullmatch(serial):
        raise c.fail("serial", f"must be an adb serial (letters, digits, . _ : -), got {excerpt(serial)}")
    adb = c.string("adb", "adb") or "adb"
    if any(ch.isspace() for ch in adb):
        raise c.fail("adb", f"must be the adb program (a name or a path, no arguments), got {excerpt(adb)}")
    paths = {}
    for name, default in (("benchmark_model", AdbSettings.benchmark_model), ("work_dir", AdbSettings.work_dir)):
        value = c.string(name, default) or default
        if not DEVICE_PATH.fullmatch(value):
            raise c.fail(
                name, f"must be an absolute path on the phone (letters, digits, . _ / + -), got {excerpt(value)}"
            )
        paths[name] = value
    return AdbSettings(serial=serial, adb=adb, **paths)
