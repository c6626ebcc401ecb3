"""Fuzzing the inputs a user hands hwnas: architecture strings, device files and latency tables.

Each input either works or ends in one :class:`~hwnas.errors.HwnasError` with a short message;
no other exception, and no NaN or negative latency that could make a candidate feasible.
Hypothesis runs derandomized (the same examples on every run) and with few examples, so the
file stays fast and CI deterministic.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwnas import device_file
from hwnas.cli.main import main
from hwnas.device_file import parse_device
from hwnas.devices import Device
from hwnas.errors import HwnasError, InvalidArchitecture, LatencyUnknown, UsageError
from hwnas.latency.sources import load_latency_source
from hwnas.spaces import get_space

REPO = Path(__file__).resolve().parents[2]
HOST_TABLE = REPO / "latency_tables" / "host-cpu.json"
SPACES = {name: get_space(name) for name in ("nb201", "hybrid")}
VALID = {name: [sp.encode(a) for a in sp.sample_many(8, seed=3)] for name, sp in SPACES.items()}
MAX_ECHO = 200  # an error line quotes at most about this much of the input

FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow], database=None
)

# ---- architecture strings -------------------------------------------------------------------
ARCH_ALPHABET = "|+~/:,-_ 0123456789abcehimnoqrstvwxkp\t\n\x00é∞"


@st.composite
def arch_texts(draw: st.DrawFn, space: str) -> str:
    """A valid encoding with a few edits (insert, delete, replace, repeat), or free text."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(max_size=60))
    text = draw(st.sampled_from(VALID[space]))
    for _ in range(draw(st.integers(0, 4))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        edit = draw(st.sampled_from(["insert", "delete", "replace", "repeat"]))
        ch = draw(st.sampled_from(ARCH_ALPHABET))
        if edit == "insert":
            text = text[:i] + ch + text[i:]
        elif edit == "delete":
            text = text[:i] + text[i + 1 :]
        elif edit == "replace":
            text = text[:i] + ch + text[i + 1 :]
        else:
            text = text[:i] + text[i : i + 8] * draw(st.integers(2, 5)) + text[i:]
    return text


def _decodes_or_refuses(space_name: str, text: str) -> None:
    space = SPACES[space_name]
    try:
        arch = space.decode(text)
    except (InvalidArchitecture, UsageError) as exc:
        assert str(exc).strip() and len(str(exc)) < 600, str(exc)[:1000]
        return
    canonical = space.encode(arch)
    assert space.encode(space.decode(canonical)) == canonical  # what decodes, re-encodes to itself


@pytest.mark.parametrize("space_name", sorted(SPACES))
@FUZZ
@given(data=st.data())
def test_arch_strings_decode_or_are_refused(space_name: str, data: st.DataObject) -> None:
    _decodes_or_refuses(space_name, data.draw(arch_texts(space_name)))


@pytest.mark.parametrize("space_name", sorted(SPACES))
@settings(FUZZ, max_examples=20)
@given(seed=st.integers(0, 2**31 - 1))
def test_valid_encodings_round_trip(space_name: str, seed: int) -> None:
    space = SPACES[space_name]
    arch = space.sample_many(1, seed=seed)[0]
    assert space.decode(space.encode(arch)) == arch


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _assert_one_error_line(code: int, err: str, allowed: tuple[int, ...] = (2,)) -> str:
    lines = err.strip().splitlines()
    assert code in allowed and len(lines) == 1 and lines[0].startswith("error: "), (code, err[:2000])
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("space_name", sorted(SPACES))
@settings(FUZZ, max_examples=25)
@given(data=st.data())
def test_info_takes_an_arch_or_gives_one_error_line(space_name: str, data: st.DataObject) -> None:
    text = data.draw(arch_texts(space_name).filter(lambda t: not t.startswith("-")))
    resolution = "32" if space_name == "nb201" else "64"  # small networks: FLOPs are counted on the meta device
    code, _, err = run_cli(["info", text, "--space", space_name, "--resolution", resolution])
    if code != 0:
        _assert_one_error_line(code, err)


@pytest.mark.parametrize(
    "space_name,text",
    [
        ("nb201", "x" * 1_200_000),
        ("nb201", "+".join(["|" + "nor_conv_3x3~0" * 30_000 + "|"] * 3)),
        ("nb201", "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|" + "zz~2" * 300_000 + "|"),
        ("hybrid", "w24-e4:" + "ib3," * 300_000 + "/a/b/c"),
        ("hybrid", VALID["hybrid"][0].rsplit(",", 1)[0] + ",x" + "y" * 1_200_000),
        ("hybrid", "/".join(["w24-e4" + "-q" * 200_000 + ":ib3"] * 4)),
        ("hybrid", "w" + "9" * 5000 + "-e4:ib3/a/b/c"),  # past Python's int() digit limit
        ("hybrid", "w24-e4:ib" + "3" * 5000 + "/a/b/c"),
    ],
    ids=[
        "nb201 no groups",
        "nb201 long group",
        "nb201 long entry",
        "hybrid long stage",
        "hybrid long layer",
        "hybrid long header",
        "5000-digit width",
        "5000-digit kernel",
    ],
)
def test_a_megabyte_architecture_is_cut_in_the_error_line(space_name: str, text: str) -> None:
    code, out, err = run_cli(["info", text, "--space", space_name])
    line = _assert_one_error_line(code, err)
    assert len(line) < len("error: ") + 2 * MAX_ECHO + 200, f"{len(line)} characters: {line[:300]}..."
    assert out == ""


# ---- device files ------------------------------------------------------------------------------
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(float("-inf")),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 1, 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", " ", "fp16", "ssh", "local", "onnxruntime", "p10", "thread_cpu", "$(id)", "a\nb"]),
    st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
# the device document's own field lists, so a new field is fuzzed without editing this file
TOP_FIELDS = sorted(device_file.TOP_FIELDS - {"ssh", "timing"})
SSH_FIELDS = sorted(device_file.SSH_FIELDS)
TIMING_FIELDS = sorted(device_file.TIMING_FIELDS)
BASE_DEVICE: dict[str, Any] = {"name": "fuzz", "runtime": "onnxruntime", "precision": "fp32", "threads": 1}


@st.composite
def device_mappings(draw: st.DrawFn) -> dict[str, Any]:
    """A valid device with some fields (top level, ssh., timing.) replaced by odd values."""
    data = copy.deepcopy(BASE_DEVICE)
    if draw(st.booleans()):
        data["connection"] = "ssh"
        data["ssh"] = {"host": "127.0.0.1"}
    data["timing"] = {}
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["top", "ssh", "timing", "whole"]))
        value = draw(ODD)
        if where == "top":
            data[draw(st.sampled_from(TOP_FIELDS))] = value
        elif where == "ssh":
            if not isinstance(data.get("ssh"), dict):
                data["ssh"] = {}
            data["ssh"][draw(st.sampled_from(SSH_FIELDS))] = value
        elif where == "timing":
            if not isinstance(data.get("timing"), dict):
                data["timing"] = {}
            data["timing"][draw(st.sampled_from(TIMING_FIELDS))] = value
        else:
            data[draw(st.sampled_from(["ssh", "timing", "unknown_field", "name"]))] = value
    return data


@settings(FUZZ, max_examples=150)
@given(data=device_mappings())
def test_device_fields_parse_or_are_refused(data: dict[str, Any]) -> None:
    try:
        device = parse_device(data, where="fuzz.yaml")
    except UsageError as exc:
        message = str(exc)
        assert message.startswith("fuzz.yaml: ") and "\n" not in message.strip(), message
        return
    assert isinstance(device, Device)
    timing = device.timing
    for value in (timing.warmup_s, timing.min_time_s):
        assert math.isfinite(value) and 0 <= value <= 600
    assert device.connection in ("local", "ssh") and (device.ssh is not None) == (device.connection == "ssh")


# ---- latency tables ----------------------------------------------------------------------------
HYBRID = SPACES["hybrid"]
PROBE_ARCHS = VALID["hybrid"][:3]
PROBE_KEYS = sorted({b.key for a in PROBE_ARCHS for b in HYBRID.blocks(HYBRID.decode(a), 224)})
STAT_FIELDS = ["median_ms", "p10_ms", "p90_ms", "mean_ms", "std_ms", "n"]
BAD_NUMBERS = st.sampled_from([float("nan"), float("inf"), -1.0, -1e9, 0, "3.5", None, [1.0], {"ms": 1}, True])
BAD_VALUES = st.one_of(BAD_NUMBERS, st.sampled_from(["", "fast", [], {}, [[1]], 2**64]))
BASE_TABLE: dict[str, Any] = json.loads(HOST_TABLE.read_text()) if HOST_TABLE.exists() else {}
ENTRY_FIELDS = ["input_shape", "kind", "rounds", "round_p10_ms"]
TOP_KEYS = ["device", "entries", "space", "resolution", "num_classes", "timing", "calibration", "runtime", "host"]


DAMAGES = st.one_of(
    st.tuples(st.just("drop"), st.sampled_from(TOP_KEYS), st.none()),
    st.tuples(st.just("top"), st.sampled_from(TOP_KEYS), BAD_VALUES),
    st.tuples(st.just("entries"), st.none(), st.sampled_from(["a list", "entries", None, 3, []])),
    st.tuples(st.just("entry"), st.sampled_from(PROBE_KEYS), BAD_VALUES),
    st.tuples(st.sampled_from(["stat", "all"]), st.sampled_from([*STAT_FIELDS, *ENTRY_FIELDS]), BAD_VALUES),
    st.tuples(st.just("calibration"), st.sampled_from(["scale", "offset_ms", "method"]), BAD_VALUES),
)


def damaged(damages: list[tuple[str, Any, Any]], entry_index: int = 0) -> dict[str, Any]:
    """The committed table with each (damage, where, value) applied; the draws stay small to print."""
    table = copy.deepcopy(BASE_TABLE)
    for damage, where, value in damages:
        entries = table.get("entries")
        if damage == "drop":
            table.pop(where, None)
        elif damage == "top":
            table[where] = value
        elif damage == "entries":
            table["entries"] = list(BASE_TABLE["entries"].values()) if value == "a list" else value
        elif damage == "entry" and isinstance(entries, dict):
            entries[where] = value
        elif damage in ("stat", "all") and isinstance(entries, dict):
            keys = PROBE_KEYS if damage == "all" else [PROBE_KEYS[entry_index % len(PROBE_KEYS)]]
            for key in keys:
                if isinstance(entries.get(key), dict):
                    entries[key][where] = value
        elif damage == "calibration" and isinstance(table.get("calibration"), dict):
            table["calibration"][where] = value
    return table


def _write(table: dict[str, Any], folder: Path, name: str = "damaged.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(table))  # NaN and Infinity as Python's json writes them
    return path


@pytest.mark.skipif(not BASE_TABLE, reason="latency_tables/host-cpu.json is not committed")
@settings(FUZZ, max_examples=80)
@given(damages=st.lists(DAMAGES, min_size=1, max_size=3), entry_index=st.integers(0, 50))
def test_damaged_table_is_refused_or_predicts_finite_non_negative(
    damages: list[tuple[str, Any, Any]], entry_index: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _write(damaged(damages, entry_index), Path(folder))
        try:
            source = load_latency_source(space=HYBRID, table=path)
        except HwnasError as exc:
            assert str(exc).strip() and "\n" not in str(exc).strip(), str(exc)
            return
        for arch in PROBE_ARCHS:
            try:
                ms = source.predict_ms(HYBRID, arch, resolution=224)
            except LatencyUnknown:
                continue
            except HwnasError:
                continue
            assert isinstance(ms, float) and math.isfinite(ms) and ms >= 0, (ms, arch)


def _every_entry(field: str, value: object) -> dict[str, Any]:
    table = copy.deepcopy(BASE_TABLE)
    for entry in table["entries"].values():
        entry[field] = value
    return table


def _one_entry(value: object) -> dict[str, Any]:
    table = copy.deepcopy(BASE_TABLE)
    table["entries"][PROBE_KEYS[0]] = value
    return table


@pytest.mark.skipif(not BASE_TABLE, reason="latency_tables/host-cpu.json is not committed")
@pytest.mark.parametrize(
    "damage",
    [
        lambda: _one_entry("fast"),
        lambda: {**BASE_TABLE, "entries": list(BASE_TABLE["entries"].values())},
        lambda: _every_entry("p10_ms", float("nan")),
        lambda: {k: v for k, v in BASE_TABLE.items() if k != "device"},
    ],
    ids=["a string entry", "entries as a list", "nan p10", "no device"],
)
def test_search_with_a_damaged_table_is_one_error_line(tmp_path: Path, damage) -> None:
    bad = _write(damage(), tmp_path, "bad.json")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "hwnas", "search", "--space", "hybrid", "--latency-table", str(bad)]
    cmd += ["--latency-ms", "5", "--evaluations", "2", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    line = _assert_one_error_line(proc.returncode, proc.stderr, allowed=(1, 2))
    assert "bad.json" in line, line
    assert not out.exists(), "the failed search left its run folder behind"


@settings(FUZZ, max_examples=40)
@given(values=st.lists(st.one_of(BAD_VALUES, st.floats(0.01, 100.0)), min_size=1, max_size=4))
def test_whole_arch_json_table_is_refused_or_predicts_positive(values: list[Any]) -> None:
    nb201 = SPACES["nb201"]
    table = dict(zip(VALID["nb201"], values, strict=False))
    with tempfile.TemporaryDirectory() as folder:
        path = _write(table, Path(folder), "archs.json")
        try:
            source = load_latency_source(space=nb201, table=path)
        except HwnasError as exc:
            assert "archs.json" in str(exc) and "\n" not in str(exc).strip(), str(exc)
            return
        for arch in table:
            ms = source.predict_ms(nb201, arch)
            assert isinstance(ms, float) and math.isfinite(ms) and ms > 0
