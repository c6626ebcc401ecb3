"""Shared test fixtures: paths to the shared dev data, single-threaded torch for stable CI."""

from __future__ import annotations

import csv
import signal
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

# A shell that starts pytest in the background (`cmd &` without job control) makes it ignore
# SIGINT, and the commands the signal tests start would inherit that and never see their Ctrl-C.
# A handler (unlike SIG_IGN) is reset at exec, so the children get the default and Python's
# KeyboardInterrupt, as they do under a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
NB201_DEV_CSV = SHARED / "data" / "nb201" / "nb201_dev_cifar10.csv"


@pytest.fixture(scope="session")
def nb201_dev_rows() -> list[dict[str, str]]:
    if not NB201_DEV_CSV.exists():
        pytest.skip(f"NB201 dev data not found at {NB201_DEV_CSV} (../shared must sit beside the repo)")
    with NB201_DEV_CSV.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def digits_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 real 8x8 grey images (10 classes) from scikit-learn's bundled digits, as an .npz
    with ``images`` and ``labels``: labelled data for proxies, nothing downloaded."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn (dev extra) ships the digits")
    import numpy as np

    digits = sklearn_datasets.load_digits()
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    np.savez(path, images=digits.images[:200].astype(np.float32), labels=digits.target[:200].astype(np.int64))
    return path
