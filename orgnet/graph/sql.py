"""The events-to-edges aggregation as plain SQL, for engines beyond one machine.

:func:`edges_sql` writes the same steps as :mod:`orgnet.graph.build` (identity mapping, bot
filter, self-edges dropped, kind weights, window; review, communication and co-edit edges,
undirected pairs canonicalised, aggregated per pair) as one SQL query over three relations:

``interactions``
    The canonical ``interactions`` table (``event_id, kind, actor_id, target_id, artifact_id,
    value, ts, weight``).
``touches``
    The canonical ``touches`` table (``artifact_id, actor_id, path, ts``), for ``coedit``.
``identity_map``
    ``identity_id, person_id, is_bot`` (:meth:`orgnet.dataset.Dataset.identity_map`).

The query uses only ANSI joins, ``GROUP BY``, ``CASE`` and one window ``COUNT(*) OVER``, so it
runs unchanged on DuckDB (local Parquet, or ``read_parquet('s3://...')`` with ``httpfs``), Spark
SQL (register the three Parquet datasets as views) and most warehouses. The result is a small
edge table (people x people) that the single-machine kernels take from there; see
``docs/scaling.md``.

:func:`duckdb_edges` runs it with DuckDB on a workspace's Parquet files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from orgnet.graph.build import (
    COMMUNICATION_KINDS,
    EDGE_SCHEMA,
    REVIEW_KINDS,
    REVIEW_TRAILERS,
    THREAD_KINDS,
    GraphOptions,
)

if TYPE_CHECKING:
    from orgnet.workspace import Workspace

__all__ = ["duckdb_edges", "edges_sql"]


def _lit(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(float(value))
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC).replace(tzinfo=None)
        return f"TIMESTAMP '{utc.isoformat(sep=' ')}'"
    text = str(value).replace("'", "''")
    return f"'{text}'"


def _in(values: frozenset[str]) -> str:
    return "(" + ", ".join(_lit(v) for v in sorted(values)) + ")"


def _window_where(alias: str, options: GraphOptions) -> str:
    """The window filter on ``alias.ts`` (``since <= ts < until``) as a WHERE condition."""
    where = ["TRUE"]
    if options.window.since is not None:
        where.append(f"{alias}.ts >= {_lit(options.window.since)}")
    if options.window.until is not None:
        where.append(f"{alias}.ts < {_lit(options.window.until)}")
    return " AND ".join(where)


def _person_events(options: GraphOptions) -> str:
    kw = dict(options.kind_weights)
    weights = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in sorted(kw.items()))
    weight = f"CASE i.kind {weights} ELSE 1.0 END" if kw else "1.0"
    where = _window_where("i", options)
    bots = "WHERE NOT actor_bot AND NOT target_bot" if options.exclude_bots else ""
    return f"""
ev AS (
  SELECT i.event_id, i.kind, i.artifact_id, i.value,
         COALESCE(a.person_id, i.actor_id) AS actor,
         CASE WHEN i.target_id IS NULL THEN NULL
              ELSE COALESCE(t.person_id, i.target_id) END AS target0,
         COALESCE(a.is_bot, FALSE) AS actor_bot,
         COALESCE(t.is_bot, FALSE) AS target_bot,
         i.weight * {weight} AS w
  FROM interactions i
  LEFT JOIN identity_map a ON a.identity_id = i.actor_id
  LEFT JOIN identity_map t ON t.identity_id = i.target_id
  WHERE {where}
),
pe AS (
  SELECT event_id, kind, artifact_id, value, actor,
         CASE WHEN target0 = actor THEN NULL ELSE target0 END AS target, w
  FROM ev {bots}
)"""


def _review() -> str:
    return f"""
raw AS (
  SELECT target AS src, actor AS dst, w AS weight FROM pe
  WHERE target IS NOT NULL
    AND (kind IN {_in(REVIEW_KINDS)}
         OR (kind = 'commit_trailer' AND value IN {_in(REVIEW_TRAILERS)}))
)"""


def _communication(max_thread_size: int) -> str:
    return f"""
direct AS (
  SELECT actor AS src, target AS dst, w AS weight FROM pe
  WHERE target IS NOT NULL AND kind IN {_in(COMMUNICATION_KINDS)}
),
thread_people AS (
  SELECT artifact_id, actor FROM pe
  WHERE artifact_id IS NOT NULL AND kind IN {_in(THREAD_KINDS)}
  GROUP BY artifact_id, actor
),
members AS (
  SELECT artifact_id, actor, COUNT(*) OVER (PARTITION BY artifact_id) AS k FROM thread_people
),
pairs AS (
  SELECT m1.actor AS src, m2.actor AS dst, 1.0 / (m1.k - 1) AS weight
  FROM members m1 JOIN members m2 ON m1.artifact_id = m2.artifact_id
  WHERE m1.k >= 2 AND m1.k <= {int(max_thread_size)} AND m1.actor <> m2.actor
),
raw AS (SELECT * FROM direct UNION ALL SELECT * FROM pairs)"""


def _coedit(options: GraphOptions) -> str:
    if options.coedit_depth is not None:
        raise ValueError("edges_sql: coedit_depth is not supported; aggregate paths upstream")
    where = _window_where("t", options)
    bots = "AND NOT COALESCE(a.is_bot, FALSE)" if options.exclude_bots else ""
    cap = float(options.changeset_cap)
    return f"""
tp AS (
  SELECT t.artifact_id, t.path, COALESCE(a.person_id, t.actor_id) AS person
  FROM touches t LEFT JOIN identity_map a ON a.identity_id = t.actor_id
  WHERE {where} {bots}
),
tw AS (
  SELECT person, path, COUNT(*) OVER (PARTITION BY artifact_id) AS n_files
  FROM tp WHERE person IS NOT NULL
),
ta AS (
  SELECT person, path,
         SUM(CASE WHEN n_files > {cap!r} THEN {cap!r} / n_files ELSE 1.0 END) AS w
  FROM tw GROUP BY person, path
),
editors AS (
  SELECT path, 1.0 / (COUNT(*) - 1) AS scale FROM ta WHERE w > 0
  GROUP BY path HAVING COUNT(*) >= 2
),
raw AS (
  SELECT x.person AS src, y.person AS dst, SUM(x.w * e.scale * y.w) AS weight
  FROM ta x JOIN editors e ON e.path = x.path JOIN ta y ON y.path = x.path
  WHERE x.person < y.person
  GROUP BY x.person, y.person
)"""


def edges_sql(view: str, options: GraphOptions | None = None) -> str:
    """The SQL query giving the ``src, dst, weight`` edge table of one view.

    Parameters
    ----------
    view
        ``review``, ``communication`` (directed) or ``coedit`` (undirected, ``src < dst``).
    options
        Window, bots, kind weights, thread-size and change-set caps (``half_life_days`` and
        ``coedit_depth`` are not supported here).

    Returns
    -------
    str
        One ``WITH ... SELECT`` statement over ``interactions``, ``touches`` and
        ``identity_map``; rows sorted by ``src, dst``.
    """
    opts = options or GraphOptions()
    if opts.half_life_days:
        raise ValueError("edges_sql: half_life_days is not supported; weight events upstream")
    if view == "coedit":
        return f"WITH {_coedit(opts).strip()}\nSELECT src, dst, weight FROM raw " \
               "WHERE weight > 0 ORDER BY src, dst"
    if view == "review":
        body = _review()
    elif view == "communication":
        body = _communication(opts.max_thread_size)
    else:
        raise ValueError(f"edges_sql: unknown view {view!r}; expected review, communication "
                         "or coedit")
    return (f"WITH {_person_events(opts).strip()},{body}\n"
            "SELECT src, dst, SUM(weight) AS weight FROM raw WHERE src <> dst "
            "GROUP BY src, dst HAVING SUM(weight) > 0 ORDER BY src, dst")


def duckdb_edges(
    workspace: Workspace | str | Path,
    view: str,
    options: GraphOptions | None = None,
    *,
    connection: Any = None,
) -> pl.DataFrame:
    """Run :func:`edges_sql` with DuckDB on a workspace's Parquet files.

    Parameters
    ----------
    workspace
        The workspace (its committed ``interactions``/``touches`` parts are read in place).
    view, options
        As for :func:`edges_sql`.
    connection
        A ``duckdb`` connection (default: a new in-memory one).

    Returns
    -------
    pl.DataFrame
        ``src, dst, weight`` sorted by ``src, dst``.
    """
    import duckdb

    from orgnet.dataset import Dataset
    from orgnet.workspace import Workspace

    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    con = connection or duckdb.connect()
    idmap = Dataset(people=ws.read("people"), identities=ws.read("identities")).identity_map()
    con.register("identity_map", idmap.to_arrow())
    for table in ("interactions", "touches"):
        files = [str(p) for p in ws._files(table)]
        if files:
            paths = ", ".join(_lit(f) for f in files)  # SQL string literals, quotes doubled
            con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS "
                        f"SELECT * FROM read_parquet([{paths}])")
        else:
            con.register(table, ws.read(table).to_arrow())
    con.execute("SET TimeZone = 'UTC'")
    relation: Any = con.sql(edges_sql(view, options))
    # duckdb >= 1.4 names it to_arrow_table(); older releases arrow().
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    out = pl.from_arrow(fetch())
    assert isinstance(out, pl.DataFrame)
    return out.cast(EDGE_SCHEMA)  # type: ignore[arg-type]
