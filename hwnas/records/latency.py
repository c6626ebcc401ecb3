"""The block latency table's records: :class:`TableHeader` + one :class:`TableEntry` per block,
with its :class:`Calibration`, :class:`ProfileLog` and :class:`Validation` (``latency_tables/*.json``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from hwnas.latency.timing import TimingStats, best_of_rounds
from hwnas.records.base import SCHEMA_VERSION, Json, omit_none, plain

TABLE_KIND = "hwnas-block-latency-table"


@dataclass(frozen=True)
class Calibration:
    """``predicted = scale * (stem + sum of blocks + head) + offset_ms``; identity until validated.

    ``fitted_on``, ``seed`` and ``date`` say how a fitted calibration was made (None for identity)."""

    scale: float = 1.0
    offset_ms: float = 0.0
    method: str = "identity"
    fitted_on: int | None = None
    seed: int | None = None
    date: str | None = None

    def apply(self, raw_ms: float) -> float:
        return self.scale * raw_ms + self.offset_ms

    def to_dict(self) -> Json:
        """The fit alone (scale, offset, method), as reports and ``describe()`` show it."""
        return {"scale": self.scale, "offset_ms": self.offset_ms, "method": self.method}

    def to_json(self) -> Json:
        return omit_none(
            {**self.to_dict(), "fitted_on": self.fitted_on, "seed": self.seed, "date": self.date},
            "fitted_on",
            "seed",
            "date",
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Calibration:
        if not data:
            return cls()
        return cls(
            scale=float(data["scale"]),
            offset_ms=float(data["offset_ms"]),
            method=str(data.get("method", "linear")),
            fitted_on=data.get("fitted_on"),
            seed=data.get("seed"),
            date=data.get("date"),
        )

    from_dict = from_json


SOURCES = ("measured", "predicted")


@dataclass(frozen=True)
class TableEntry:
    """One block's statistics: those of its fastest round, plus every round's median and p10.

    ``rounds`` and the round lists are None in tables written before rounds existed (one round).
    ``source`` is ``measured`` (timed on the device) or ``predicted`` (a few-shot table's model
    priced it: every statistic holds the predicted value, ``std_ms`` 0 and ``n`` 0 runs).
    ``measured_by`` names the pool member that timed each round (a device pool's table); None
    when the table's one device timed them all."""

    kind: str
    input_shape: tuple[int, ...]
    stats: TimingStats
    rounds: int | None = None
    round_medians_ms: tuple[float, ...] | None = None
    round_p10_ms: tuple[float, ...] | None = None
    source: str = "measured"
    measured_by: tuple[str, ...] | None = None

    @property
    def predicted(self) -> bool:
        return self.source == "predicted"

    @property
    def rounds_done(self) -> int:
        """Rounds timed on the device: 0 for a predicted entry, so a full profile re-measures it."""
        if self.predicted:
            return 0
        return 1 if self.rounds is None else int(self.rounds)

    @classmethod
    def from_prediction(cls, kind: str, input_shape: Sequence[int], value_ms: float) -> TableEntry:
        stats = TimingStats(value_ms, value_ms, value_ms, value_ms, 0.0, 0)
        return cls(kind, tuple(input_shape), stats, source="predicted")

    def with_round(
        self, stats: TimingStats, estimator: str, *, by: str | None = None, earlier_by: str = ""
    ) -> TableEntry:
        """This entry after one more round: the faster round's statistics (by ``estimator``), all rounds listed.

        ``by`` names the pool member that timed the round; rounds timed before without a
        name are credited to ``earlier_by`` (the table's device)."""
        medians = (*(self.round_medians_ms or (self.stats.median_ms,)), stats.median_ms)
        p10s = (*(self.round_p10_ms or (self.stats.p10_ms,)), stats.p10_ms)
        best = best_of_rounds((self.stats, stats), estimator)
        measured_by = self.measured_by
        if by is not None or measured_by is not None:
            before = measured_by or (earlier_by,) * (len(medians) - 1)
            measured_by = (*before, by or earlier_by)
        return replace(
            self, stats=best, rounds=len(medians), round_medians_ms=medians, round_p10_ms=p10s, measured_by=measured_by
        )

    @classmethod
    def first(cls, kind: str, input_shape: Sequence[int], stats: TimingStats, *, by: str | None = None) -> TableEntry:
        measured_by = None if by is None else (by,)
        return cls(kind, tuple(input_shape), stats, 1, (stats.median_ms,), (stats.p10_ms,), measured_by=measured_by)

    def to_json(self) -> Json:
        out: Json = {"kind": self.kind, "input_shape": list(self.input_shape), "source": self.source}
        out.update(self.stats.to_dict())
        if self.rounds is not None:
            out["rounds"] = self.rounds
        if self.round_medians_ms is not None:
            out["round_medians_ms"] = list(self.round_medians_ms)
        if self.round_p10_ms is not None:
            out["round_p10_ms"] = list(self.round_p10_ms)
        if self.measured_by is not None:
            out["measured_by"] = list(self.measured_by)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableEntry:
        medians, p10s = data.get("round_medians_ms"), data.get("round_p10_ms")
        return cls(
            str(data["kind"]),
            tuple(int(x) for x in data["input_shape"]),
            TimingStats.from_dict(data),
            None if data.get("rounds") is None else int(data["rounds"]),
            None if medians is None else tuple(float(x) for x in medians),
            None if p10s is None else tuple(float(x) for x in p10s),
            str(data.get("source", "measured")),
            None if data.get("measured_by") is None else tuple(str(x) for x in data["measured_by"]),
        )


@dataclass(frozen=True)
class ProfileRun:
    """One ``hwnas profile`` run on a table: block-rounds measured and where the time went (s)."""

    finished: str
    measured: int
    wall_s: float
    export_s: float
    exported: int
    timed_s: float
    setup_s: float

    def to_json(self) -> Json:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProfileRun:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


_TOTALS = ("wall_s", "export_s", "timed_s", "setup_s")


@dataclass(frozen=True)
class ProfileLog:
    """Every profiling run of a table and the totals over them (absent before the first run ends)."""

    runs: tuple[ProfileRun, ...] = ()
    totals: Mapping[str, float] | None = None

    def with_run(self, run: ProfileRun) -> ProfileLog:
        runs = (*self.runs, run)
        totals = {name: round(sum(getattr(r, name) for r in runs), 3) for name in _TOTALS}
        share = round(totals["timed_s"] / totals["wall_s"], 4) if totals["wall_s"] > 0 else 0.0
        totals["timed_share"] = share
        totals["overhead_share"] = round(1.0 - share, 4) if totals["wall_s"] > 0 else 0.0
        return ProfileLog(runs, totals)

    def to_json(self) -> Json:
        return {"runs": [r.to_json() for r in self.runs], **dict(self.totals or {})}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ProfileLog:
        data = data or {}
        totals = {k: v for k, v in data.items() if k != "runs"}
        return cls(tuple(ProfileRun.from_json(r) for r in data.get("runs", [])), totals or None)


@dataclass(frozen=True)
class ValidationSample:
    """One sampled network of ``hwnas validate-table``: predicted (raw and leave-one-out) vs measured, ms."""

    arch: str
    predicted_raw_ms: float
    predicted_loo_ms: float
    measured_ms: float
    measured_p10_ms: float
    measured_p90_ms: float
    round_medians_ms: tuple[float, ...]
    round_p10_ms: tuple[float, ...]
    predicted_share: float | None = None  # of the sum of blocks, from predicted entries (few-shot tables)

    def to_json(self) -> Json:
        out = omit_none({f.name: getattr(self, f.name) for f in fields(self)}, "predicted_share")
        return {**out, "round_medians_ms": list(self.round_medians_ms), "round_p10_ms": list(self.round_p10_ms)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ValidationSample:
        kw = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        return cls(
            **{**kw, "round_medians_ms": tuple(kw["round_medians_ms"]), "round_p10_ms": tuple(kw["round_p10_ms"])}
        )


@dataclass(frozen=True)
class Validation:
    """What ``hwnas validate-table`` found: accuracy figures before and after calibration, and the samples."""

    date: str
    n: int
    seed: int
    method: str
    estimator: str
    rounds: int
    uncalibrated: Mapping[str, Any]
    calibrated: Mapping[str, Any]
    plot: str
    samples: tuple[ValidationSample, ...]
    #: few-shot tables: figures for re-timed measured / predicted entries and for networks by predicted share
    by_source: Mapping[str, Any] | None = None

    def to_json(self) -> Json:
        out = omit_none({f.name: plain(getattr(self, f.name)) for f in fields(self)}, "by_source")
        return {
            **out,
            "uncalibrated": dict(self.uncalibrated),
            "calibrated": dict(self.calibrated),
            "samples": [s.to_json() for s in self.samples],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Validation | None:
        if not data:
            return None
        kw = {f.name: plain(data[f.name]) for f in fields(cls) if f.name in data}
        return cls(**{**kw, "samples": tuple(ValidationSample.from_json(s) for s in data["samples"])})


@dataclass(frozen=True)
class FewShot:
    """How a few-shot table was made: the budget, the prior table, and the fitted model.

    ``model`` is the regressor's parameters as plain JSON numbers (never a pickle), read by
    :mod:`hwnas.latency.predictor`; ``prior`` names the prior table (path, SHA-256, device,
    runtime, host) or is None. The entries say which blocks were measured and which predicted."""

    budget: int | None
    budget_s: float | None
    seed: int
    date: str
    prior: Mapping[str, Any] | None
    model: Mapping[str, Any]
    selection: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> Json:
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> FewShot | None:
        if not data:
            return None
        return cls(**{f.name: plain(data[f.name]) for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class TableHeader:
    """Everything in a block table but its entries: what was measured, how, and how it was checked."""

    device: Mapping[str, Any]
    runtime: Mapping[str, Any]
    host: Mapping[str, Any]
    threads: int | None
    precision: str
    batch_size: int
    hwnas_version: str
    created: str
    updated: str
    space: str
    resolution: int
    num_classes: int
    timing: Mapping[str, Any]
    expected_entries: int
    complete: bool = False
    profile: ProfileLog = field(default_factory=ProfileLog)
    calibration: Calibration = field(default_factory=Calibration)
    validation: Validation | None = None
    fewshot: FewShot | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def estimator(self) -> str:
        """The statistic predictions use: ``median`` unless the device's timing says ``p10``."""
        return str(self.timing.get("estimator", "median"))

    def to_json(self) -> Json:
        out: Json = {"schema_version": self.schema_version, "kind": TABLE_KIND}
        for f in fields(self):
            if f.name != "schema_version":
                out[f.name] = plain(getattr(self, f.name))
        out["profile"] = self.profile.to_json()
        out["calibration"] = self.calibration.to_json()
        out["validation"] = None if self.validation is None else self.validation.to_json()
        if self.fewshot is None:
            del out["fewshot"]  # a measured table's layout is unchanged
        else:
            out["fewshot"] = self.fewshot.to_json()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableHeader:
        skip = {"schema_version", "profile", "calibration", "validation", "fewshot"}
        kw = {f.name: plain(data[f.name]) for f in fields(cls) if f.name not in skip and f.name in data}
        return cls(
            **kw,
            profile=ProfileLog.from_json(data.get("profile")),
            calibration=Calibration.from_json(data.get("calibration")),
            validation=Validation.from_json(data.get("validation")),
            fewshot=FewShot.from_json(data.get("fewshot")),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
        )
