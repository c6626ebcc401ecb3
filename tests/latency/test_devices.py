"""Device descriptions: the shipped ones load, aliases resolve, bad fields are named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from hwnas.devices import DEFAULT_DEVICE, Device, list_devices, load_device
from hwnas.errors import UnknownName, UsageError

SHIPPED = {"host-cpu", "jetson-orin-nano", "nvidia-gpu", "raspberry-pi-5", "apple-silicon"}


def test_shipped_devices_load_and_default_is_host_cpu() -> None:
    names = {d.name for d in list_devices()}
    assert names >= SHIPPED
    host = load_device()
    assert DEFAULT_DEVICE == "host-cpu" and host.name == "host-cpu"
    assert (host.runtime, host.precision, host.threads, host.connection) == ("onnxruntime", "fp32", 1, "local")
    assert host.provider == "CPUExecutionProvider"
    with pytest.raises(dataclasses.FrozenInstanceError):
        host.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("jetson", "jetson-orin-nano"),
        ("rpi5", "raspberry-pi-5"),
        ("raspberry-pi", "raspberry-pi-5"),
        ("mac", "apple-silicon"),
        ("nvidia-gpu", "nvidia-gpu"),
    ],
)
def test_aliases_find_the_device(alias: str, name: str) -> None:
    assert load_device(alias).name == name


def test_remote_devices_describe_how_to_reach_them() -> None:
    jetson = load_device("jetson")
    assert (jetson.runtime, jetson.precision, jetson.connection) == ("tensorrt", "fp16", "ssh")
    assert jetson.ssh is not None and jetson.ssh.python and jetson.ssh.work_dir
    pi = load_device("rpi5")
    assert (pi.runtime, pi.connection) == ("onnxruntime", "ssh")
    assert load_device("nvidia-gpu").connection == "local"
    assert load_device("mac").runtime == "coreml"


def test_unknown_device_lists_known_names() -> None:
    with pytest.raises(UnknownName, match=r"unknown device 'nope' \(known: .*host-cpu"):
        load_device("nope")


def test_device_from_a_yaml_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"name": "mine", "runtime": "onnxruntime", "precision": "int8", "threads": 2}))
    device = load_device(str(path))
    assert isinstance(device, Device) and device.name == "mine" and device.precision == "int8"
    assert device.timing.min_runs >= 1


BASE = {"name": "x", "runtime": "onnxruntime", "precision": "fp32"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"precision": "fp8"}, "devices/x.yaml: field 'precision' must be one of fp32, fp16, int8, got 'fp8'"),
        (
            {"runtime": "tflite"},
            "devices/x.yaml: field 'runtime' must be one of onnxruntime, tensorrt, coreml, litert, openvino, "
            "got 'tflite'",
        ),
        ({"threads": 0}, "devices/x.yaml: field 'threads' must be an integer from 1 to 1024, got 0"),
        ({"threads": "two"}, "field 'threads' must be an integer from 1 to 1024, got 'two'"),
        ({"batch_size": True}, "field 'batch_size' must be an integer from 1 to 4096"),
        ({"precison": "fp32"}, "devices/x.yaml: unknown field 'precison'"),
        ({"connection": "ssh"}, "field 'ssh' is required when connection is ssh"),
        ({"connection": "ssh", "ssh": {"user": "pi"}}, "field 'ssh.host' is required"),
        ({"connection": "ssh", "ssh": {"host": "h", "port": 70000}}, "field 'ssh.port' must be an integer from 1 to"),
        ({"connection": "ssh", "ssh": {"host": "h", "hots": 1}}, "unknown field 'ssh.hots'"),
        ({"ssh": {"host": "h"}}, "field 'ssh' is only allowed with connection: ssh"),
        ({"timing": {"min_runs": 0}}, "field 'timing.min_runs' must be an integer from 1 to 1000000, got 0"),
        ({"timing": {"min_time_s": -1}}, "field 'timing.min_time_s' must be a number from 0 to 600"),
        ({"timing": {"clock": "cpu"}}, "field 'timing.clock' must be one of wall, thread_cpu, got 'cpu'"),
        (
            {"threads": 2, "timing": {"clock": "thread_cpu"}},
            "field 'timing.clock' thread_cpu needs runtime onnxruntime or litert with threads: 1",
        ),
        ({"timing": {"estimator": "mean"}}, "field 'timing.estimator' must be one of median, p10, got 'mean'"),
        ({"timing": {"min_time_s": float("inf")}}, "field 'timing.min_time_s' must be a number from 0 to 600, got inf"),
        ({"timing": {"warmup_s": float("nan")}}, "field 'timing.warmup_s' must be a number from 0 to 600, got nan"),
        ({"timing": {"min_runs": 10**12}}, "field 'timing.min_runs' must be an integer from 1 to 1000000"),
        ({"timing": {"rounds": 0}}, "field 'timing.rounds' must be an integer from 1 to 100, got 0"),
        ({"graph_optimization": "max"}, "field 'graph_optimization' must be one of disable, basic, extended, all"),
        ({"name": None}, "field 'name' is required"),
        ({"name": "a/b"}, "field 'name' must be a plain file name"),
        ({"aliases": "jetson"}, "field 'aliases' must be a list of strings"),
        ({"precision": "fp16"}, "field 'precision' fp16 is not timed with onnxruntime"),
        ({"runtime": "coreml", "provider": "GPU_ONLY"}, "field 'provider' must be one of ALL, CPU_ONLY"),
    ],
)
def test_validation_names_the_bad_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "devices").mkdir()
    data = {**BASE, **change}
    data = {k: v for k, v in data.items() if not (k == "name" and v is None)}
    (tmp_path / "devices" / "x.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(UsageError) as info:
        load_device("devices/x.yaml")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(UsageError, match="must be a YAML mapping"):
        load_device(str(path))
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        load_device(str(broken))


def test_devices_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "board.yaml").write_text(yaml.safe_dump({**BASE, "name": "board", "aliases": ["b"]}))
    monkeypatch.setenv("HWNAS_DEVICES_DIR", str(tmp_path))
    assert load_device("b").name == "board"
    assert "board" in {d.name for d in list_devices()}


@pytest.mark.parametrize(
    "options,message",
    [
        (["ProxyCommand=touch /tmp/hwnas-pwned"], "'ProxyCommand' is not an allowed ssh option"),
        (["LocalCommand=id"], "'LocalCommand' is not an allowed ssh option"),
        (["proxycommand=sh -c id"], "is not an allowed ssh option"),
        (["StrictHostKeyChecking"], "entries are Key=Value"),
        (["UserKnownHostsFile=/dev/null\nProxyCommand=id"], "line breaks"),
    ],
)
def test_ssh_options_that_could_run_a_local_command_are_refused(tmp_path, options, message) -> None:
    import yaml

    from hwnas.devices import load_device
    from hwnas.errors import UsageError

    path = tmp_path / "evil.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "evil",
                "runtime": "onnxruntime",
                "connection": "ssh",
                "ssh": {"host": "127.0.0.1", "options": options},
            }
        )
    )
    with pytest.raises(UsageError, match=message):
        load_device(path)


def test_the_remote_python_is_quoted_for_the_remote_shell(tmp_path) -> None:
    import yaml

    from hwnas.devices import load_device

    path = tmp_path / "dev.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "dev",
                "runtime": "onnxruntime",
                "connection": "ssh",
                "ssh": {
                    "host": "127.0.0.1",
                    "python": "'$(touch PWNED)/python' -X dev",
                    "options": ["StrictHostKeyChecking=accept-new"],
                },
            }
        )
    )
    python = load_device(path).ssh.python
    # a real shell, as on the device: the words come back literally and nothing runs
    import subprocess

    out = subprocess.run(
        ["sh", "-c", f"printf '%s\\n' {python}"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["$(touch PWNED)/python", "-X", "dev"]
    assert not (tmp_path / "PWNED").exists()


def test_a_devices_folder_in_the_current_directory_cannot_shadow_a_shipped_device(
    tmp_path, monkeypatch, capsys
) -> None:
    import yaml

    from hwnas.devices import REPO_ROOT, load_device

    evil = {
        "name": "jetson-orin-nano",
        "aliases": ["jetson"],
        "runtime": "onnxruntime",
        "connection": "ssh",
        "ssh": {"host": "attacker.invalid"},
    }
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "jetson-orin-nano.yaml").write_text(yaml.safe_dump(evil))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HWNAS_DEVICES_DIR", raising=False)
    shipped = load_device("jetson")
    assert shipped.ssh is not None and shipped.ssh.host != "attacker.invalid"
    assert Path(shipped.source).resolve().parent == (REPO_ROOT / "devices").resolve()
    # opting in is explicit, and announced
    monkeypatch.setenv("HWNAS_DEVICES_DIR", str(tmp_path / "devices"))
    chosen = load_device("jetson")
    assert chosen.ssh is not None and chosen.ssh.host == "attacker.invalid"
    assert "comes from" in capsys.readouterr().err


@pytest.mark.parametrize(
    "python",
    ["python3 -c 'import os'", "python3 -m http.server", "touch PWNED", "env python3", "python3 x.py", "python3 -W x"],
)
def test_the_remote_python_must_be_an_interpreter_with_interpreter_flags(tmp_path, python: str) -> None:
    from hwnas.device_file import parse_device

    data = {"name": "dev", "runtime": "onnxruntime", "connection": "ssh", "ssh": {"host": "h", "python": python}}
    with pytest.raises(UsageError, match="'ssh.python' must be a Python interpreter"):
        parse_device(data)
    for ok in ("python3", "/opt/venv/bin/python3.11 -S -u", "python -X dev -I", "pypy3"):
        parse_device({**data, "ssh": {"host": "h", "python": ok}})
