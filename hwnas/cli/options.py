"""Options shared by several commands, defined once (as the ``hf`` CLI does)."""

from __future__ import annotations

from typing import Annotated

import typer

SpaceOpt = Annotated[str, typer.Option("--space", "-s", help="Search space name (see `hwnas spaces`), e.g. hybrid or nb201.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for every random choice; same seed, same result.")]
ResolutionOpt = Annotated[
    int | None, typer.Option("--resolution", "-r", help="Input resolution (default: the space's, 224 for hybrid, 32 for nb201).")
]
NumClassesOpt = Annotated[int | None, typer.Option("--num-classes", help="Classifier outputs (default: the space's).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead of tables.")]
