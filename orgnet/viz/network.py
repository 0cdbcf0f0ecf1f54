"""Network drawings (builders added with the dashboard)."""

from __future__ import annotations

__all__: list[str] = []
