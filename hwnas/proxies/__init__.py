"""Training-free proxies, registered by name; higher always means "predicted more accurate".

A new proxy is one module with a :class:`~hwnas.proxies.base.Proxy` subclass
decorated by ``@PROXIES.register("name")``, imported below; the registry-driven
conformance tests (``tests/proxies/test_conformance.py``) then check it.

:func:`score_architecture` is the one entry point the rest of hwnas uses (the
search calls it from worker processes): it builds the network once for all
requested proxies, with weights drawn from ``seed``, and returns one float per
proxy.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from hwnas.errors import UsageError
from hwnas.proxies.base import Proxy, ProxyContext
from hwnas.proxies.data import LabelledImages, load_labelled_images
from hwnas.registry import Registry
from hwnas.spaces.base import SearchSpace

PROXIES: Registry[type[Proxy]] = Registry("proxy")


def proxy_names() -> list[str]:
    return PROXIES.names()


def get_proxy(name: str) -> Proxy:
    """An instance of the proxy registered as ``name`` (UnknownName lists the known ones)."""
    return PROXIES.get(name)()


def resolve_proxies(names: Sequence[str], *, has_data: bool) -> list[Proxy]:
    """Proxy instances for ``names`` (unique, known), checking up front that data-hungry
    proxies have data, so a bad request fails before any work is done."""
    if not names:
        raise UsageError("no proxy requested (known: " + ", ".join(proxy_names()) + ")")
    seen: set[str] = set()
    proxies = []
    for name in names:
        if name in seen:
            raise UsageError(f"proxy {name!r} is requested twice")
        seen.add(name)
        proxy = get_proxy(name)
        if proxy.needs_data and not has_data:
            raise UsageError(f"proxy {name!r} needs labelled images: pass --data (an image folder or an .npz)")
        proxies.append(proxy)
    return proxies


def score_architecture_timed(
    space: SearchSpace[Any],
    arch: Any,
    names: Sequence[str],
    *,
    seed: int = 0,
    batch_size: int | None = None,
    resolution: int | None = None,
    num_classes: int | None = None,
    data: LabelledImages | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Scores and seconds per proxy for one architecture (the space's decoded object, or its
    encoding).

    The network is built once and shared. Each proxy's seconds include the network
    build (when it needs the network), so ``seconds[p]`` is what scoring this
    architecture with ``p`` alone costs.
    """
    proxies = resolve_proxies(names, has_data=data is not None)
    if isinstance(arch, str):
        arch = space.decode(arch)
    ctx = ProxyContext(
        space, arch, seed=seed, batch_size=batch_size, resolution=resolution, num_classes=num_classes, data=data
    )
    build_s = 0.0
    if any(p.needs_network for p in proxies):
        start = time.perf_counter()
        ctx.model  # noqa: B018  (build once, timed apart)
        build_s = time.perf_counter() - start
    scores: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for proxy, name in zip(proxies, names, strict=True):
        start = time.perf_counter()
        scores[name] = float(proxy.score(ctx))
        seconds[name] = time.perf_counter() - start + (build_s if proxy.needs_network else 0.0)
    return scores, seconds


def score_architecture(
    space: SearchSpace[Any],
    arch: Any,
    names: Sequence[str],
    *,
    seed: int = 0,
    batch_size: int | None = None,
    resolution: int | None = None,
    num_classes: int | None = None,
    data: LabelledImages | None = None,
) -> dict[str, float]:
    """{proxy name: score} for one architecture; higher is better; same seed, same scores."""
    return score_architecture_timed(
        space, arch, names, seed=seed, batch_size=batch_size, resolution=resolution, num_classes=num_classes, data=data
    )[0]


# registration side effects, one module per proxy or family, in the order `proxy_names()` lists them
# isort: off
from hwnas.proxies import size  # noqa: E402,F401
from hwnas.proxies import synflow  # noqa: E402,F401
from hwnas.proxies import naswot  # noqa: E402,F401
from hwnas.proxies import entropic  # noqa: E402,F401
from hwnas.proxies import sed  # noqa: E402,F401
from hwnas.proxies import revisit  # noqa: E402,F401
from hwnas.proxies import baselines  # noqa: E402,F401
from hwnas.proxies import az_nas  # noqa: E402,F401
from hwnas.proxies import meco  # noqa: E402,F401
from hwnas.proxies import swap  # noqa: E402,F401
from hwnas.proxies import skip_length  # noqa: E402,F401
# isort: on

__all__ = [
    "PROXIES",
    "LabelledImages",
    "Proxy",
    "ProxyContext",
    "get_proxy",
    "load_labelled_images",
    "proxy_names",
    "resolve_proxies",
    "score_architecture",
    "score_architecture_timed",
]
