"""Score tables: atomic checkpoints, resume that scores only what is missing, settings guarded."""

from __future__ import annotations

import csv

import pytest

import hwnas.proxies.score_table as table_mod
from hwnas.errors import UsageError
from hwnas.proxies.score_table import ScoreSettings, read_table, score_table
from hwnas.spaces import get_space

SPACE = get_space("nb201")
ARCHS = [SPACE.encode(a) for a in SPACE.sample_many(6, seed=4)]
SETTINGS = ScoreSettings(space="nb201", seed=0, batch_size=4, resolution=16, num_classes=None, data=None)


def _score(out, archs, proxies, **kw):
    seen: list[str] = []
    run = score_table(
        SPACE,
        archs,
        proxies,
        out,
        settings=kw.pop("settings", SETTINGS),
        on_scored=lambda arch, s, t: seen.append(arch),
        **kw,
    )
    return run, seen


def test_resume_scores_only_missing_archs_and_proxies(tmp_path) -> None:
    out = tmp_path / "scores.csv"
    run, seen = _score(out, ARCHS[:3], ["params", "sed"])
    assert run.scored == 3 and seen == ARCHS[:3]
    run, seen = _score(out, ARCHS, ["params", "sed"], resume=True)
    assert run.scored == 3 and run.reused == 3 and seen == ARCHS[3:]
    run, seen = _score(out, ARCHS[:2], ["params", "sed", "logsynflow"], resume=True)
    assert seen == ARCHS[:2]
    proxies, rows = read_table(out)
    assert proxies == ["params", "sed", "logsynflow"] and len(rows) == 6
    assert "logsynflow" in rows[ARCHS[0]] and "logsynflow" not in rows[ARCHS[5]]
    with out.open() as fh:
        header = next(csv.reader(fh))
    assert header == ["arch", "params", "sed", "logsynflow", "seconds_params", "seconds_sed", "seconds_logsynflow"]


def test_without_resume_the_table_is_replaced(tmp_path) -> None:
    out = tmp_path / "scores.csv"
    _score(out, ARCHS, ["sed"])
    run, seen = _score(out, ARCHS[:2], ["sed"])
    assert len(seen) == 2 and len(read_table(out)[1]) == 2


def test_an_interrupted_run_leaves_a_complete_table_that_resumes(tmp_path, monkeypatch) -> None:
    out = tmp_path / "scores.csv"
    real = table_mod.score_architecture_timed
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(table_mod, "score_architecture_timed", flaky)
    with pytest.raises(KeyboardInterrupt):
        _score(out, ARCHS, ["params", "sed"], checkpoint_every_s=0.0)
    _, rows = read_table(out)
    assert list(rows) == ARCHS[:3]
    assert all(isinstance(r["sed"], float) and isinstance(r["seconds_sed"], float) for r in rows.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv", "scores.csv.meta.json"]  # no temp files
    monkeypatch.setattr(table_mod, "score_architecture_timed", real)
    run, seen = _score(out, ARCHS, ["params", "sed"], resume=True)
    assert seen == ARCHS[3:] and len(read_table(out)[1]) == 6


def test_resume_with_other_settings_is_refused(tmp_path) -> None:
    out = tmp_path / "scores.csv"
    _score(out, ARCHS[:2], ["sed"])
    other = ScoreSettings(space="nb201", seed=1, batch_size=4, resolution=16, num_classes=None, data=None)
    with pytest.raises(UsageError, match="seed 0 -> 1"):
        _score(out, ARCHS, ["sed"], resume=True, settings=other)


def test_unknown_proxy_fails_before_writing(tmp_path) -> None:
    out = tmp_path / "scores.csv"
    with pytest.raises(UsageError, match="unknown proxy"):
        _score(out, ARCHS, ["sed", "nope"])
    assert not out.exists()
