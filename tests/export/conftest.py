"""Shared inputs of the export tests: small architectures, weights whose outputs depend on the input,
calibration images from scikit-learn's digits (bundled with scikit-learn; nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from export_helpers import HYBRID_ARCH, HYBRID_RES, NB201_ARCH, calibrated_weights


@pytest.fixture(scope="session")
def digits_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """96 handwritten digits (8x8, values 0..16) with labels, as an .npz."""
    datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn (dev extra) provides the digits")
    digits = datasets.load_digits()
    path = tmp_path_factory.mktemp("calibration") / "digits.npz"
    np.savez(path, images=digits.images[:96], labels=digits.target[:96])
    return path


@pytest.fixture(scope="session")
def nb201_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return calibrated_weights("nb201", NB201_ARCH, 32, tmp_path_factory.mktemp("w") / "nb201.pt")


@pytest.fixture(scope="session")
def hybrid_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return calibrated_weights(
        "hybrid", HYBRID_ARCH, HYBRID_RES, tmp_path_factory.mktemp("w") / "hybrid.pt", num_classes=10
    )
