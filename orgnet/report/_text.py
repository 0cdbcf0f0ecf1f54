"""Escaping and number formatting shared by the report renderers.

User-controlled strings (names, titles, unit and channel names) are never trusted: they are cleaned
(control, ANSI and bidi characters dropped by :func:`orgnet._text.clean`) and then escaped for the
target format, HTML or Markdown.
"""

from __future__ import annotations

import html
import math
import re
from typing import Final

from orgnet._text import clean

__all__ = ["fmt", "html_text", "md_cell", "md_text", "plain"]

# Inline markup of CommonMark / GFM / Slack mrkdwn: emphasis, code, links (no "[" -> no link or
# image), table cells, strikethrough. Autolinks need "<", which becomes an entity.
_MD_SPECIAL: Final = re.compile(r"([\\`*_\[\]|~])")


def plain(value: object) -> str:
    """``value`` as one line of printable text (``None`` -> empty)."""
    if value is None:
        return ""
    return clean(str(value)) or ""


def html_text(value: object) -> str:
    """Plain text escaped for HTML text and double-quoted attributes."""
    return html.escape(plain(value), quote=True)


def md_text(value: object) -> str:
    """Plain text that renders literally in Markdown (links, emphasis, HTML made inert).

    ``<``, ``>`` and ``&`` become entities (CommonMark and Slack both decode them as text); the
    other punctuation with an inline meaning is backslash-escaped, so ``[x](javascript:...)`` shows
    as typed and never becomes a link.
    """
    text = plain(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_cell(value: object) -> str:
    """:func:`md_text` for a table cell (``|`` is escaped by :func:`md_text` too)."""
    return md_text(value) or " "


def fmt(value: object) -> str:
    """A number or value for a table: thousands separators, 2-3 decimals, empty for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        value = value + 0.0  # -0.0 -> 0.0
        a = abs(value)
        if a == 0:
            return "0"
        if a < 0.001:
            return f"{value:.1e}"
        if a >= 100:
            return f"{value:,.0f}"
        if a >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    if isinstance(value, list | tuple):
        items = [fmt(v) for v in value]
        shown = ", ".join(items[:12])
        return shown + (f", … (+{len(items) - 12})" if len(items) > 12 else "")
    return plain(value)
