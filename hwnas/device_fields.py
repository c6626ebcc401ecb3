"""The parts of a device file every field shares: the checker that names the file and field in each
error (:class:`FieldChecker`), and the two connection sections, ``ssh`` and ``adb``, with their
settings records. :mod:`hwnas.device_file` reads the rest of the document.
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwnas.errors import UsageError, excerpt

ADB_FIELDS = {"serial", "adb", "benchmark_model", "work_dir"}
SSH_FIELDS = {"host", "user", "port", "key", "python", "work_dir", "connect_timeout_s", "options"}


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


class FieldChecker:
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


def _port(c: FieldChecker) -> int | None:
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


def _ssh_options(c: FieldChecker) -> tuple[str, ...]:
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


def _python_command(c: FieldChecker) -> str:
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


def parse_ssh(where: str, data: dict[str, Any]) -> SSHSettings:
    c = FieldChecker(where, data, "ssh.")
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


def parse_adb(where: str, data: dict[str, Any]) -> AdbSettings:
    """The ``adb`` mapping: every value is checked here and passed to ``adb`` as one list argument."""
    c = FieldChecker(where, data, "adb.")
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
