"""Help text is rendered as rich markup: a bracketed word such as the ``[ray]`` of
``pip install 'hwnas[ray]'`` would vanish unless it is escaped. Every command's help and every
option's help must render to the text it was written as."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from rich.text import Text

from hwnas.cli.main import app


def _commands() -> list[tuple[str, Any]]:
    root: Any = typer.main.get_command(app)
    return sorted(root.commands.items())


def _written(text: str) -> str:
    """What a reader should see: the text with rich's escapes (``\\[``) resolved."""
    return text.replace("\\[", "[")


@pytest.mark.parametrize(("name", "command"), _commands(), ids=[n for n, _ in _commands()])
def test_help_keeps_every_bracket(name: str, command: Any) -> None:
    texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
    for text in texts:
        if "[" not in text:
            continue
        rendered = Text.from_markup(text).plain
        lost = re.findall(r"\[[^\]\s]*\]", _written(text))
        assert rendered == _written(text), f"hwnas {name}: help loses {lost} when rendered: {text!r}"


def test_install_hint_survives_in_rendered_help(capsys: pytest.CaptureFixture[str]) -> None:
    from hwnas.cli.main import main

    assert main(["search", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "hwnas[ray]" in out.replace("│", "").replace(" ", "")
