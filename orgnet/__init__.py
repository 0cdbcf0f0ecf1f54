"""orgnet: engineering organisation network analysis.

Import the traces an engineering organisation already leaves (code review, commits, chat, mail,
ownership files, the org chart), build a collaboration graph, and compare the informal network
with the formal structure.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
