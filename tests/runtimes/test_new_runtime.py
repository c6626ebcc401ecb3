"""A new runtime is one folder plus one registration: device files accept it, the in-process runner
and the runner zipapp time with its device module, with no other file changed."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hwnas.devices import parse_device
from hwnas.errors import UsageError
from hwnas.latency.targets import open_target
from hwnas.runtimes import RUNTIMES
from hwnas.transport import zipapp

HOST = """
from hwnas.runtimes.base import RUNTIMES, Runtime, SettingError


@RUNTIMES.register("sleepy")
class Sleepy(Runtime):
    name = "sleepy"
    title = "Sleepy"
    precisions = ("fp32",)
    default_provider = "bed"
    artifact_suffix = ".txt"
    install_hint = "nothing to install"
    timed_where = "a sleepy device"

    @classmethod
    def check_settings(cls, settings):
        if settings.provider != "bed":
            raise SettingError("provider", "must be bed")

    def prepare(self, model, input_shape, out_path):
        out_path.write_text("zzz")
        return out_path
"""
DEVICE = """
import time

from hwnas.ondevice.core import measured, timed_runs


def measure(path, input_shape, options, timing):
    samples, timed_s, warm_s = timed_runs(lambda: time.sleep(0.001), timing)
    return measured(samples, timed_s, warm_s)


def describe(options):
    return {"name": "sleepy", "version": "1.0", "provider": options.get("provider")}
"""


@pytest.fixture
def sleepy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    folder = tmp_path / "plugins" / "sleepy"
    folder.mkdir(parents=True)
    (tmp_path / "plugins" / "__init__.py").write_text("")
    (folder / "__init__.py").write_text('"""A runtime that sleeps."""\n')
    (folder / "host.py").write_text(textwrap.dedent(HOST))
    (folder / "device.py").write_text(textwrap.dedent(DEVICE))
    monkeypatch.syspath_prepend(str(tmp_path))
    zipapp.runner_archive.cache_clear()
    importlib.import_module("plugins.sleepy.host")  # the one registration line
    try:
        yield "sleepy"
    finally:
        RUNTIMES._items.pop("sleepy", None)
        for name in [m for m in sys.modules if m.startswith("plugins")]:
            del sys.modules[name]
        zipapp.runner_archive.cache_clear()


def test_a_new_runtime_needs_no_other_file(sleepy: str, tmp_path: Path) -> None:
    timing = {"warmup_runs": 1, "warmup_s": 0.0, "min_runs": 3, "min_time_s": 0.0}
    device = parse_device({"name": "nap", "runtime": sleepy, "timing": timing})
    assert device.provider == "bed"
    with pytest.raises(UsageError, match="field 'provider' must be bed"):
        parse_device({"name": "nap", "runtime": sleepy, "provider": "sofa"})
    with open_target(device) as target:  # in-process
        assert target.describe()["runtime"] == {"name": "sleepy", "version": "1.0", "provider": "bed"}
        artifact = target.runtime.prepare(None, (1,), tmp_path / f"m{target.runtime.artifact_suffix}")
        (where,) = target.upload([artifact])
        assert target.measure(where, (1,)).stats.n == 3

    runner = zipapp.write_runner(tmp_path / "runner.pyz")  # and on a remote device
    assert "plugins/sleepy/device.py" in zipfile.ZipFile(runner).namelist()
    request = {
        "op": "measure",
        "runtime": sleepy,
        "path": str(artifact),
        "input_shape": [1],
        "timing": device.timing.to_dict(),
    }
    proc = subprocess.run(
        [sys.executable, "-I", str(runner), "serve"],
        input=json.dumps(request) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    reply = json.loads(proc.stdout.splitlines()[0])
    assert reply["ok"] and len(reply["samples_ms"]) == 3
