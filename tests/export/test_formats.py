"""Conformance of every registered export format: writes its file from a small network and checks it.

Runs for real where the format's tools exist (ONNX, ORT, INT8 and Core ML conversion
here; TensorRT on a GPU machine) and skips with the writer's own MissingDependency
message elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from export_helpers import NB201_ARCH

from hwnas.errors import MissingDependency
from hwnas.export import FORMATS, ExportRequest, export_model
from hwnas.export.files import sha256_of


@pytest.mark.parametrize("name", FORMATS.names())
def test_format_writes_a_checked_artifact(name: str, tmp_path: Path, nb201_weights: Path, digits_npz: Path) -> None:
    writer = FORMATS.get(name)()
    try:
        writer.check_available()
    except MissingDependency as exc:
        pytest.skip(str(exc))
    out = tmp_path / "export"
    card = export_model(
        ExportRequest(
            target=NB201_ARCH,
            space="nb201",
            out=out,
            formats=(name,),
            weights=nb201_weights,
            calibration=digits_npz,
            measure=False,
        )
    ).to_json()
    by_format = {a["format"]: a for a in card["artifacts"]}
    assert "onnx" in by_format  # the reference is always written
    artifact = by_format[name]
    path = out / artifact["file"]
    assert path.exists() and artifact["size_bytes"] > 0
    assert artifact["sha256"] == sha256_of(path)
    assert artifact["checks"], "every writer reports what it checked"
    assert artifact["latency"] == {"measured": False, "reason": "not timed (--no-measure)"}
    if artifact["parity"] is not None and "passed" in artifact["parity"]:
        assert artifact["parity"]["passed"] and "warning" not in artifact["parity"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging folder left behind"


def test_formats_are_built_in_dependency_order() -> None:
    names = FORMATS.names()
    for name in names:
        for need in FORMATS.get(name).needs:
            assert names.index(need) < names.index(name)
