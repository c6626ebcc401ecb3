"""``hwnas export RUN --all``: every member of a budget family, and a card that lists them side by side.

Each member is exported as any winner is (its own folder, files, checks and model card); the
family card (``family_card.json`` and ``README.md``) puts their latency, #Params, FLOPs and proxy
scores in one table, so a team picks a size by reading one page. The whole folder is written
beside ``--out`` and renamed onto it at the end: it appears whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from hwnas.errors import UsageError
from hwnas.export.files import FAMILY_CARD_FILE, check_destination, staged_directory
from hwnas.export.pipeline import ExportRequest, export_model
from hwnas.io import atomic_write_json, atomic_write_text, read_json
from hwnas.records import ModelCard


def family_members(run_dir: Path) -> dict[str, Any]:
    """The run's family.json, checked enough to export from (UsageError naming the problem)."""
    path = run_dir / "family.json"
    if not path.is_file():
        raise UsageError(f"{run_dir} holds no budget family (no family.json): --all exports a family's members")
    try:
        data = read_json(path)
    except ValueError as exc:
        raise UsageError(f"{path} is not valid JSON ({exc})") from None
    members = data.get("members") if isinstance(data, dict) else None
    if not isinstance(members, list) or not members:
        raise UsageError(f"{path} lists no members")
    for m in members:
        if not isinstance(m, dict) or not isinstance(m.get("label"), str) or not isinstance(m.get("file"), str):
            raise UsageError(f"{path}: every member needs a label and a file")
        if "/" in m["label"] or "/" in m["file"] or m["label"].startswith("."):
            raise UsageError(f"{path}: member names must be plain file names, got {m['label']!r}")
    return data


def export_family(request: ExportRequest, *, on_step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Export every member into ``request.out/<label>`` and write the family card; returns the card."""
    run_dir = Path(request.target)
    if request.space is not None:
        raise UsageError("--all exports the members of a family run directory; it takes no --space")
    data = family_members(run_dir)
    out = Path(request.out)
    check_destination(out, overwrite=request.overwrite, inputs=(run_dir, request.weights, request.calibration))
    cards: list[tuple[dict[str, Any], ModelCard]] = []
    with staged_directory(out, overwrite=request.overwrite) as stage:
        for member in data["members"]:
            step = (lambda text, label=member["label"]: on_step(f"{label}: {text}")) if on_step else None
            member_request = replace(request, out=stage / member["label"], best_file=member["file"], overwrite=False)
            card = export_model(member_request, on_step=step)
            cards.append((member, replace(card, out=str(out / member["label"]))))
        document = family_card(data, cards)
        atomic_write_text(stage / "README.md", render_family_readme(document))
        atomic_write_json(stage / FAMILY_CARD_FILE, document)  # last: it marks the folder as an hwnas export
    return {**document, "out": str(out)}


def family_card(data: dict[str, Any], cards: list[tuple[dict[str, Any], ModelCard]]) -> dict[str, Any]:
    """One row per member: its budget, architecture, predicted and measured latency, size and proxies."""
    rows = []
    for member, card in cards:
        check = card.latency_check
        rows.append(
            {
                "label": member["label"], "budget": member.get("budget"), "folder": member["label"],
                "arch": card.architecture["encoding"], "params_m": card.architecture["params_m"],
                "flops_m": card.architecture["flops_m"], "predicted_ms": card.target.get("predicted_latency_ms"),
                "measured_ms": check.measured_ms if check.checked else None,
                "latency_check": check.to_json(), "scores": dict(member.get("scores") or {}),
                "model_card": f"{member['label']}/model_card.json",
            }
        )  # fmt: skip
    return {
        "family": data.get("family"),
        "space": data.get("space"),
        "device": cards[0][1].target.get("device") if cards else None,
        "selection": data.get("selection"),
        "members": rows,
    }


def render_family_readme(card: dict[str, Any]) -> str:
    family = card.get("family") or {}
    proxies = sorted({p for m in card["members"] for p in m["scores"]})
    lines = [
        f"# A family of {len(card['members'])} networks ({card.get('space')}, {card.get('device')})",
        "",
        f"One `hwnas search` for several {family.get('kind', 'budget')} budgets; each member is the winner "
        "for its budget, exported in its own folder with its model card.",
        "",
        "| member | predicted | measured | #Params | FLOPs | " + " | ".join(proxies) + " | folder |",
        "|---" * (6 + len(proxies)) + "|",
    ]
    for m in card["members"]:
        predicted = "-" if m["predicted_ms"] is None else f"{m['predicted_ms']:.3f} ms"
        measured = "-" if m["measured_ms"] is None else f"{m['measured_ms']:.3f} ms"
        scores = " | ".join(f"{m['scores'][p]:.4g}" if p in m["scores"] else "-" for p in proxies)
        lines.append(
            f"| {m['label']} | {predicted} | {measured} | {m['params_m']:.3f} M | {m['flops_m']:.1f} M | "
            f"{scores} | [`{m['folder']}/`]({m['folder']}/README.md) |"
        )
    lines += ["", f"Winner rule: {card.get('selection')}.", ""]
    return "\n".join(lines)
