"""Reusable network blocks, kept apart from the spaces that assemble them (as timm does)."""
