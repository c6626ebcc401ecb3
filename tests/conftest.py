"""Shared test fixtures: paths to the shared dev data, single-threaded torch for stable CI."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
NB201_DEV_CSV = SHARED / "data" / "nb201" / "nb201_dev_cifar10.csv"


@pytest.fixture(scope="session")
def nb201_dev_rows() -> list[dict[str, str]]:
    if not NB201_DEV_CSV.exists():
        pytest.skip(f"NB201 dev data not found at {NB201_DEV_CSV} (../shared must sit beside the repo)")
    with NB201_DEV_CSV.open(newline="") as fh:
        return list(csv.DictReader(fh))
