"""Options shared by several commands, defined once (as the ``hf`` CLI does)."""

from __future__ import annotations

from typing import Annotated

import typer

from hwnas.errors import UsageError

#: Input resolutions accepted anywhere a network is built: memory and time grow with the square.
MIN_RESOLUTION, MAX_RESOLUTION = 8, 1024
MAX_SEED = 2**63 - 1


def check_resolution(value: int | None) -> int | None:
    if value is not None and not MIN_RESOLUTION <= value <= MAX_RESOLUTION:
        raise UsageError(f"--resolution must be from {MIN_RESOLUTION} to {MAX_RESOLUTION} pixels, got {value}")
    return value


def _seed(value: int) -> int:
    if not 0 <= value <= MAX_SEED:
        raise UsageError(f"--seed must be from 0 to {MAX_SEED}, got {value}")
    return value


SpaceOpt = Annotated[
    str, typer.Option("--space", "-s", help="Search space name (see `hwnas spaces`), e.g. hybrid or nb201.")
]
SeedOpt = Annotated[
    int, typer.Option("--seed", help="Seed for every random choice; same seed, same result.", callback=_seed)
]
ResolutionOpt = Annotated[
    int | None,
    typer.Option(
        "--resolution",
        "-r",
        help="Input resolution (default: the space's, 224 for hybrid, 32 for nb201).",
        callback=check_resolution,
    ),
]
NumClassesOpt = Annotated[int | None, typer.Option("--num-classes", help="Classifier outputs (default: the space's).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead of tables.")]
NoProbeOpt = Annotated[
    bool,
    typer.Option(
        "--no-probe",
        help="Do not re-time a few blocks to check that a local device's table describes this machine "
        "(the fingerprint is still compared; HWNAS_NO_PROBE=1 does the same everywhere).",
    ),
]

ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        help="Where candidates are scored: local (this machine) or ray (a Ray cluster; pip install 'hwnas\\[ray]'). "
        "Results do not depend on it.",
    ),
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="--executor ray: the cluster's HOST:PORT (as `ray start --head --port` was given), auto or "
        "ray://HOST:PORT (default: RAY_ADDRESS, else a Ray instance on this machine for this command).",
    ),
]
TaskBatchOpt = Annotated[
    int | None,
    typer.Option(
        "--batch",
        help="Architectures per task (a Ray task or a process-pool chunk; default: chosen from the measured "
        "per-task overhead, docs/scale.md). Results do not depend on it.",
    ),
]
ThreadsOpt = Annotated[
    int,
    typer.Option(
        "--threads",
        help="Torch intra-op threads per scoring process or Ray task (a task holds as many CPUs). Proxy "
        "networks are small: one thread per process is fastest on a shared machine (more threads "
        "oversubscribe the cores); raise it for big nets. Results do not depend on it.",
    ),
]
