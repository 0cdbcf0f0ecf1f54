"""A :class:`Dataset`: the canonical tables of a workspace, loaded once for analysis.

Small tables are read eagerly; the event tables stay lazy so a window filter is pushed into the
Parquet scan.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from orgnet.schema import empty
from orgnet.workspace import Workspace

if TYPE_CHECKING:
    from orgnet.graph.formal import FormalStructure

__all__ = ["Dataset", "Window"]


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[since, until)``; ``None`` leaves a side open."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @staticmethod
    def of(since: dt.date | dt.datetime | str | None = None,
           until: dt.date | dt.datetime | str | None = None) -> Window:
        """Build a window from dates, date-times or ISO strings (naive values are UTC)."""
        return Window(_as_utc(since), _as_utc(until))

    def expr(self, column: str = "ts") -> pl.Expr:
        """A polars predicate selecting the window on ``column``."""
        pred = pl.lit(True)
        if self.since is not None:
            pred = pred & (pl.col(column) >= self.since)
        if self.until is not None:
            pred = pred & (pl.col(column) < self.until)
        return pred

    def as_dict(self) -> dict[str, str | None]:
        """``{"since": ..., "until": ...}`` as ISO dates for ``findings.json``."""
        return {
            "since": self.since.date().isoformat() if self.since else None,
            "until": self.until.date().isoformat() if self.until else None,
        }


def _as_utc(value: dt.date | dt.datetime | str | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass
class Dataset:
    """The canonical tables, ready for graph building and analysis."""

    people: pl.DataFrame = field(default_factory=lambda: empty("people"))
    identities: pl.DataFrame = field(default_factory=lambda: empty("identities"))
    units: pl.DataFrame = field(default_factory=lambda: empty("units"))
    memberships: pl.DataFrame = field(default_factory=lambda: empty("memberships"))
    artifacts: pl.DataFrame = field(default_factory=lambda: empty("artifacts"))
    ownership: pl.DataFrame = field(default_factory=lambda: empty("ownership"))
    interactions: pl.LazyFrame = field(default_factory=lambda: empty("interactions").lazy())
    touches: pl.LazyFrame = field(default_factory=lambda: empty("touches").lazy())
    fingerprint: str = ""

    @classmethod
    def from_workspace(cls, workspace: Workspace | str | Path | None = None) -> Dataset:
        """Load a workspace (``None``: ``$ORGNET_WORKSPACE`` or ``./orgnet-workspace``)."""
        ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        return cls(
            people=ws.read("people"),
            identities=ws.read("identities"),
            units=ws.read("units"),
            memberships=ws.read("memberships"),
            artifacts=ws.read("artifacts"),
            ownership=ws.read("ownership"),
            interactions=ws.scan("interactions"),
            touches=ws.scan("touches"),
            fingerprint=ws.fingerprint(),
        )

    @property
    def formal(self) -> FormalStructure:
        """The formal structure (units, memberships, people)."""
        from orgnet.graph.formal import FormalStructure

        return FormalStructure(self.units, self.memberships, self.people)

    def identity_map(self) -> pl.DataFrame:
        """``identity_id -> person_id, is_bot`` (a person is a bot when the person is)."""
        bots = self.people.select("person_id", pl.col("is_bot").alias("person_is_bot"))
        return (
            self.identities.select("identity_id", "person_id", "is_bot")
            .join(bots, on="person_id", how="left")
            .with_columns((pl.col("is_bot") | pl.col("person_is_bot").fill_null(False)).alias("is_bot"))
            .drop("person_is_bot")
        )

    def time_range(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """First and last event time."""
        row = self.interactions.select(pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi"))
        lo, hi = row.collect().row(0)
        return lo, hi
