"""Reference models (EdgeNeXt, MobileViT) in the hybrid grammar, and `hwnas info NAME` / `hwnas references`."""

from __future__ import annotations

import json

import pytest

from hwnas.cli.main import main
from hwnas.counting import count_params
from hwnas.spaces import get_space
from hwnas.spaces.references import REFERENCES, find_reference, resolve_reference

# The published #Params are REFERENCE §5's, rounded to 0.1M; the chosen encodings are
# within 2.4% of them (worst: edgenext-s, +2.3%, its nearest-gene mapping, since no
# single-gene change got closer by more than 2 points). 3% keeps that margin and still
# fails if a block's parameter count or an encoding drifts.
PARAMS_TOLERANCE = 0.03

PUBLISHED = {  # name: (top-1 %, #Params M), REFERENCE §5
    "edgenext-xxs": (71.2, 1.3),
    "edgenext-xs": (75.0, 2.3),
    "edgenext-s": (79.4, 5.6),
    "mobilevit-xxs": (69.0, 1.3),
    "mobilevit-xs": (74.8, 2.3),
    "mobilevit-s": (78.4, 5.6),
    "convnextv2-atto": (76.7, 3.7),  # Woo et al., ConvNeXt V2, CVPR 2023
    "convnextv2-femto": (78.5, 5.2),
}


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_references_with_published_figures_and_their_source() -> None:
    assert set(REFERENCES) == set(PUBLISHED)
    for name, (top1, params_m) in PUBLISHED.items():
        ref = REFERENCES[name]
        assert ref.name == name and ref.space == "hybrid"
        assert (ref.published_top1, ref.published_params_m) == (top1, params_m)
        assert ref.note and "\n" not in ref.note
        assert ref.source and "20" in ref.source  # the paper, with its year


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_reference_decodes_round_trips_and_matches_published_params(name: str) -> None:
    space = get_space("hybrid")
    ref = REFERENCES[name]
    arch = space.decode(ref.encoding)
    assert space.encode(arch) == ref.encoding
    space.validate(ref.encoding)
    params_m = count_params(space.build(arch)) / 1e6
    assert abs(params_m / ref.published_params_m - 1) <= PARAMS_TOLERANCE, (name, params_m)


def test_references_keep_their_family_topology() -> None:
    space = get_space("hybrid")
    for name, ref in REFERENCES.items():
        stages = space.topology_of(space.decode(ref.encoding))
        if name.startswith("convnextv2"):
            assert all(set(st) == {"cn7"} for st in stages)  # ConvNeXt blocks only
        elif name.startswith("edgenext"):
            # conv encoders everywhere, an SDTA-like Transformer layer closing stages 2-4
            assert all(t.startswith("cn") for t in stages[0])
            assert all(st[-1].startswith("t") and all(t.startswith("cn") for t in st[:-1]) for st in stages[1:])
        else:
            # MV2 blocks at stride 4, then the MobileViT blocks' Transformer layers
            assert set(stages[0]) == {"ib3"} and all(set(st) == {"tm"} for st in stages[1:])


@pytest.mark.parametrize("text", ["edgenext-xs", "EdgeNeXt-XS", "  EDGENEXT-XS ", "edgenext_xs"])
def test_names_resolve_case_insensitively(text: str) -> None:
    assert resolve_reference(text) == REFERENCES["edgenext-xs"].encoding
    assert find_reference(text) is REFERENCES["edgenext-xs"]


def test_non_names_do_not_resolve() -> None:
    assert resolve_reference("edgenext-xl") is None
    assert resolve_reference(REFERENCES["mobilevit-s"].encoding) is None


def test_info_accepts_a_reference_name(capsys) -> None:
    code, out, err = run(capsys, "info", "edgenext-xs", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["arch"] == REFERENCES["edgenext-xs"].encoding and data["space"] == "hybrid"
    assert data["reference"]["name"] == "edgenext-xs"
    assert data["reference"]["published_top1"] == 75.0 and data["reference"]["published_params_m"] == 2.3
    assert abs(data["params_m"] / 2.3 - 1) <= PARAMS_TOLERANCE


def test_info_of_a_name_matches_info_of_its_encoding(capsys) -> None:
    by_name = json.loads(run(capsys, "info", "MobileViT-XXS", "--space", "hybrid", "--json")[1])
    by_encoding = json.loads(run(capsys, "info", REFERENCES["mobilevit-xxs"].encoding, "--json")[1])
    assert "reference" not in by_encoding
    assert {k: v for k, v in by_name.items() if k != "reference"} == by_encoding


def test_info_table_names_the_reference(capsys) -> None:
    code, out, _ = run(capsys, "info", "mobilevit-s")
    assert code == 0 and "mobilevit-s" in out and "78.4" in out and "#Params" in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("info", "edgenext-xl"), "neither a hybrid encoding nor a reference model"),
        (("info", "mobilevit"), "neither a hybrid encoding nor a reference model"),
        (("info", "edgenext-xs", "--space", "nb201"), "reference model of the 'hybrid' space"),
        (("info", "w24-e2:ib3"), "4 '/'-separated stages"),
    ],
)
def test_unknown_names_give_one_line_errors(capsys, args, says) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and says in err


def test_references_command_lists_names_encodings_and_params(capsys) -> None:
    code, out, _ = run(capsys, "references", "--json")
    assert code == 0
    data = {entry["name"]: entry for entry in json.loads(out)}
    assert set(data) == set(PUBLISHED)
    for name, entry in data.items():
        assert entry["encoding"] == REFERENCES[name].encoding
        assert (entry["published_top1"], entry["published_params_m"]) == PUBLISHED[name]
        assert abs(entry["params_m"] / entry["published_params_m"] - 1) <= PARAMS_TOLERANCE
    code, out, _ = run(capsys, "references")
    assert code == 0 and all(name in out for name in PUBLISHED)
