"""hwnas: hardware-aware, training-free neural architecture search."""

from __future__ import annotations

__version__ = "0.1.0"
