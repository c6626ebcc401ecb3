"""The layout rules of issue 11, kept by a test: small modules, and no space named outside spaces/."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hwnas"
MAX_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def test_no_space_is_tested_by_name_outside_spaces() -> None:
    """What a space needs (preprocessing, SED rules, size genes) is asked of the space object."""
    test = re.compile(r"""(==|!=|\bin)\s*\(?\s*["'](nb201|hybrid)["']|["'](nb201|hybrid)["']\s*(==|!=)""")
    found = [
        f"{p.relative_to(PACKAGE)}:{i}: {line.strip()}"
        for p in PACKAGE.rglob("*.py")
        if "spaces" not in p.relative_to(PACKAGE).parts
        for i, line in enumerate(p.read_text().splitlines(), start=1)
        if test.search(line)
    ]
    assert not found, "\n".join(found)
