"""Safe data exports: CSV with spreadsheet formula injection neutralised (FORMATS §17.4)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

__all__ = ["FORMULA_PREFIXES", "neutralise_formulas", "write_safe_csv"]

#: A cell starting with one of these is evaluated by spreadsheets (CWE-1236, OWASP ASVS 1.2.10).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\x00")


def neutralise_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix every string cell that a spreadsheet would evaluate with a single quote."""
    pattern = r"^[=+\-@\t\r\x00]"
    return df.with_columns(
        pl.when(pl.col(c).str.contains(pattern))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, dtype in df.schema.items()
        if dtype == pl.String
    )


def write_safe_csv(df: pl.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as CSV with formula-like cells neutralised; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    neutralise_formulas(df).write_csv(out)
    return out
