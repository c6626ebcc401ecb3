"""No field of a device file can run a command, here or on the device (a real sshd on 127.0.0.1).

Each device carries a shell payload in one field. It is either refused when the file is
loaded (one error line) or, profiled through `hwnas profile` against the real sshd, runs
no command: the marker file the payload would create appears neither in the marker folder,
nor in the working folder, nor in the remote home (the sshd's user is this user).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
from pathlib import Path

import pytest

from hwnas.cli.main import main

MARK = "PWNED"
PROFILED = ("ssh.work_dir", "name", "notes", "description")  # fields that may hold anything, quoted
HOME_JUNK = ".cache/hwnas-payload-test"  # removed after the test


def payloads(marker: Path) -> list[tuple[str, str, object]]:
    """(id, field, value): every field that reaches ssh or a shell, with the usual injections."""
    touch = f"touch {marker}/{MARK}"
    shell = [f"$({touch})", f"`{touch}`", f"x; {touch}", f"x\n{touch}", f"x && {touch} #", f"x|{touch}"]
    cases: list[tuple[str, str, object]] = []
    for i, text in enumerate(shell):
        cases += [
            (f"python-{i}", "ssh.python", f"{sys.executable} {text}"),
            (f"work_dir-{i}", "ssh.work_dir", f"{marker}/remote/{text}"),
            (f"user-{i}", "ssh.user", f"root{text}"),
            (f"host-{i}", "ssh.host", f"127.0.0.1{text}"),
            (f"key-{i}", "ssh.key", f"{marker}/{text}"),
        ]
    cases += [
        ("work_dir-home", "ssh.work_dir", f"~/{HOME_JUNK}/$({touch})"),
        ("python-code", "ssh.python", f"'{sys.executable}' -c 'import os; os.system(\"{touch}\")' #"),
        ("python-program", "ssh.python", touch),
        ("python-module", "ssh.python", f"{sys.executable} -m os"),
        ("python-in-odd-folder", "ssh.python", f"'{marker}/$({touch})/python3'"),
        ("host-dash", "ssh.host", f"-oProxyCommand={touch}"),
        ("options-proxycommand", "ssh.options", [f"ProxyCommand={touch}"]),
        ("options-proxycommand-space", "ssh.options", [f"ProxyCommand {touch}"]),
        ("options-localcommand", "ssh.options", ["PermitLocalCommand=yes", f"LocalCommand={touch}"]),
        ("options-match-exec", "ssh.options", [f'Match exec "{touch}"']),
        ("options-knownhostscommand", "ssh.options", [f"KnownHostsCommand={touch}"]),
        ("options-two-in-one", "ssh.options", [f"HostName=127.0.0.1 ProxyCommand={touch}"]),
        ("options-newline", "ssh.options", [f"HostName=127.0.0.1\nProxyCommand={touch}"]),
        ("options-proxyjump", "ssh.options", [f"ProxyJump=x$({touch})"]),
        ("options-controlpath", "ssh.options", [f"ControlPath={marker}/$({touch})"]),
        ("options-identityfile", "ssh.options", [f"IdentityFile={marker}/$({touch})"]),
        ("options-hostname", "ssh.options", [f"HostName=127.0.0.1;{touch}"]),
        ("name", "name", "x$(touch${IFS}" + MARK + ")"),
        ("name-backticks", "name", "x`touch${IFS}" + MARK + "`"),
        ("provider", "provider", f"CPUExecutionProvider$({touch})"),
        ("notes", "notes", f"$({touch})"),
        ("description", "description", f"`{touch}`"),
    ]
    return cases


CASES = payloads(Path("{marker}"))


def _field(device: dict[str, object], dotted: str, value: object) -> None:
    if dotted.startswith("ssh."):
        ssh = device.setdefault("ssh", {})
        assert isinstance(ssh, dict)
        ssh[dotted[4:]] = value
    else:
        device[dotted] = value


def _pwned(*folders: Path) -> list[Path]:
    """The marker where an absolute payload puts it, or where a relative one would land."""
    return [folder / MARK for folder in folders if (folder / MARK).exists()]


@pytest.fixture(scope="module")
def shared_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")  # the one block's ONNX file is exported once for all cases


@pytest.mark.parametrize("case_id,field,value", CASES, ids=[c[0] for c in CASES])
def test_no_device_field_runs_a_command(
    sshd, tmp_path: Path, shared_work: Path, monkeypatch, case_id: str, field: str, value: object
) -> None:
    marker = tmp_path / "marker"
    marker.mkdir()
    value = (
        [v.replace("{marker}", str(marker)) for v in value]
        if isinstance(value, list)
        else str(value).replace("{marker}", str(marker))
    )
    fields: dict[str, object] = {"ssh": {}}
    _field(fields, field, value)
    if field == "ssh.options":
        assert isinstance(value, list)
        fields["ssh"] = {"options": [f"UserKnownHostsFile={sshd.known_hosts}", "StrictHostKeyChecking=yes", *value]}
    name = str(fields.pop("name", "payload"))
    path = sshd.device(tmp_path / "devices", "payload", **fields)
    if name != "payload":  # the name is the file's field, not the file's name
        path.write_text(path.read_text().replace("name: payload", f"name: '{name}'"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    argv = ["profile", "--device", str(path), "--space", "hybrid", "--resolution", "32", "--limit", "1"]
    argv += ["--output", str(tmp_path / "table.json"), "--work-dir", str(shared_work), "--json"]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        shutil.rmtree(Path.home() / HOME_JUNK, ignore_errors=True)
    ran = _pwned(marker, cwd, Path.home(), Path.home() / ".cache" / "hwnas-runner")
    assert not ran, f"{case_id}: the payload ran (exit {code}: {err.getvalue().strip()})"
    if field in PROFILED:  # quoted, not refused: the table was measured through the real sshd
        assert code == 0 and (tmp_path / "table.json").exists(), err.getvalue()
    elif code != 0:
        lines = err.getvalue().strip().splitlines()
        assert code in (1, 2) and len(lines) == 1 and lines[0].startswith("error: "), err.getvalue()
        assert not (tmp_path / "table.json").exists(), "a refused device left a table behind"
