"""Every ``hwnas`` command shown in the README and in docs/ still exists, with options it knows.

A newcomer copies these lines first; a renamed command or option should fail here, not on
their machine. Each command's ``--help`` is run in-process, and every ``-x`` / ``--option``
in the line must be one the command declares. Option values are not checked: they may be
placeholders (``HOST:PORT``, ``...``) or files the reader makes.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from hwnas.cli.main import app, main

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

FENCE = re.compile(r"^\s*```\s*(\w*)")
SHELL_BLOCKS = {"bash", "sh", "shell", "console"}  # an unlabelled block is a tree or output
NUMBER = re.compile(r"^-\d")
INLINE = re.compile(r"`(hwnas [^`]+)`")


def shell_lines(markdown: str) -> Iterator[tuple[int, str]]:
    """(first line number, logical line) of each line in a fenced shell block, ``\\``
    continuations joined, and of each inline ``hwnas ...`` code span in the prose and tables (the
    figures' reproduce commands)."""
    in_block = shell = False
    pending, start = "", 0
    for number, line in enumerate(markdown.splitlines(), start=1):
        fence = FENCE.match(line)
        if fence:
            in_block, shell = not in_block, fence.group(1) in SHELL_BLOCKS
            continue
        if not in_block:
            yield from ((number, span) for span in INLINE.findall(line))
            continue
        if not shell:
            continue
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, pending + line
        pending = ""


def hwnas_commands(line: str) -> list[list[str]]:
    """The argument lists of each ``hwnas`` in a shell line: pipes, ``&&``, ``;`` and comments
    are understood, and a wrapper in front (``flock LOCK``, ``.venv/bin/``) is skipped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    segments: list[list[str]] = [[]]
    for token in lexer:
        if token and all(c in lexer.punctuation_chars for c in token):
            segments.append([])
        else:
            segments[-1].append(token)
    found = []
    for segment in segments:
        starts = [i for i, token in enumerate(segment) if token.rsplit("/", 1)[-1] == "hwnas"]
        if starts:
            found.append(segment[starts[0] + 1 :])
    return found


def _known_options(command: Any, root: Any) -> set[str]:
    """The command's options, and the help options every command inherits from the root."""
    declared = {o for p in command.params if p.param_type_name == "option" for o in (*p.opts, *p.secondary_opts)}
    return declared | set(root.context_settings.get("help_option_names", ["--help"]))


#: Exit code and stderr of ``hwnas NAME --help``, run once per command.
HELP_RESULTS: dict[str | None, tuple[int, str]] = {}


def problems(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What is wrong with ``hwnas ARGV``: an unknown command, a help that fails, unknown options."""
    root: Any = typer.main.get_command(app)
    name = next((a for a in argv if not a.startswith("-")), None)
    command = root.commands.get(name) if name else root
    if command is None:
        return [f"no command {name!r} (known: {', '.join(sorted(root.commands))})"]
    help_argv = [name, "--help"] if command is not root else ["--help"]
    if name not in HELP_RESULTS:
        capsys.readouterr()
        code = main(help_argv)
        HELP_RESULTS[name] = (code, capsys.readouterr().err.strip())
    code, err = HELP_RESULTS[name]
    found = [] if code == 0 and not err else [f"`hwnas {' '.join(help_argv)}` exits {code}: {err}"]
    known = _known_options(command, root)
    for arg in argv:
        option = arg.split("=", 1)[0]
        if arg.startswith("-") and arg != "-" and not NUMBER.match(arg) and option not in known:
            found.append(f"{option} is not an option of `{' '.join(['hwnas', *help_argv[:-1]])}`")
    return found


def _shown() -> tuple[list[tuple[str, list[str]]], list[str]]:
    """Every hwnas command in the pages, and the shell lines that do not parse (an open quote)."""
    shown, broken = [], []
    for page in PAGES:
        for number, line in shell_lines(page.read_text()):
            where = f"{page.relative_to(ROOT)}:{number}"
            try:
                shown += [(where, argv) for argv in hwnas_commands(line)]
            except ValueError as exc:
                broken.append(f"{where}: {exc}: {line}")
    return shown, broken


SHOWN, BROKEN = _shown()


def test_every_shell_line_parses() -> None:
    assert not BROKEN, "\n".join(BROKEN)


def test_the_readme_shows_the_commands_a_newcomer_needs() -> None:
    readme = {argv[0] for where, argv in SHOWN if where.startswith("README.md") and argv}
    assert {"search", "profile", "export", "devices"} <= readme


@pytest.mark.parametrize(("where", "argv"), SHOWN, ids=[f"{w} {' '.join(a[:1])}" for w, a in SHOWN])
def test_shown_command_is_known(where: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    found = problems(argv, capsys)
    assert not found, f"{where}: hwnas {' '.join(argv)}\n" + "\n".join(found)


def test_the_parser_reads_pipes_continuations_and_comments() -> None:
    page = "```bash\nhwnas sample -n 5 | hwnas score -p es --archs - \\\n  --out x.csv   # a comment --nope\n```\n"
    lines = list(shell_lines(page))
    assert [number for number, _ in lines] == [2]
    assert hwnas_commands(lines[0][1]) == [
        ["sample", "-n", "5"],
        ["score", "-p", "es", "--archs", "-", "--out", "x.csv"],
    ]
    assert hwnas_commands("flock /tmp/hwnas-cpu.lock .venv/bin/hwnas devices --json") == [["devices", "--json"]]
    assert hwnas_commands("pip install 'hwnas[ray]'") == []
    assert list(shell_lines("```yaml\nhwnas: 1\n```\n```\nhwnas/  the package\n```\n")) == []
    assert list(shell_lines("| figure | `hwnas search -n 5` |\nthe `hwnas[ray]` extra\n")) == [(1, "hwnas search -n 5")]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["serch", "--latency-ms", "10"], "no command 'serch'"),
        (["search", "--latency", "10"], "--latency is not an option"),
        (["export", "runs/x", "--out=dist", "--formats", "onnx"], "--formats is not an option"),
    ],
)
def test_a_wrong_command_or_option_is_caught(argv: list[str], expected: str, capsys) -> None:
    assert any(expected in p for p in problems(argv, capsys))
