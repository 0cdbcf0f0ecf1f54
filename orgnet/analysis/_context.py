"""The shared context of one analysis run: dataset, window, unit level, cached graphs.

Every analysis is a pure function of a :class:`~orgnet.dataset.Dataset` and options. Several
analyses need the same graph views and memberships; an :class:`AnalysisContext` builds each once.
Pass a ``Dataset`` and the analysis makes its own context; pass a context to share the cache.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar

import polars as pl

from orgnet.dataset import Dataset, Window
from orgnet.findings import FindingContext
from orgnet.graph.build import Graph, GraphOptions, View, build_view, coedit_matrix, person_events
from orgnet.graph.cache import ViewCache
from orgnet.graph.formal import membership_at

__all__ = ["CODED_COLUMNS", "AnalysisContext", "collect_event_table", "collect_events",
           "decode_events", "ensure_context", "memoized", "running_sum", "sort_by_event_id",
           "with_home_units"]

F = TypeVar("F", bound=Callable[..., Any])


#: The compact table's event id: its first 16 and last 4 hex digits as integers.
ID_HIGH, ID_LOW = "event_id_high", "event_id_low"


def _id_parts(ids: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """An orgnet event id as two integers: its first 16 and its last 4 hex digits (``ID_HIGH``
    and ``ID_LOW``), both null for any other id.

    Event ids are 20 lower-case hex digits (``stable_hash(..., length=20)``): for those,
    lexicographic order is the order of the two integers, and sorting integers is about twice
    as fast as sorting strings.
    """
    orgnet_id = ids.str.contains("^[0-9a-f]{20}$")
    return (
        pl.when(orgnet_id).then(ids.str.slice(0, 16).str.to_integer(
            base=16, dtype=pl.UInt64, strict=False)).alias(ID_HIGH),
        pl.when(orgnet_id).then(ids.str.slice(16).str.to_integer(
            base=16, dtype=pl.UInt16, strict=False)).alias(ID_LOW),
    )


def _event_order(df: pl.DataFrame) -> pl.Series | None:
    """Row positions of ``df`` in event-id order (stable), or ``None`` when an id is not
    orgnet's (:func:`_id_parts`)."""
    parts = df.select(*_id_parts(pl.col("event_id")))
    if parts[ID_HIGH].null_count():
        return None
    return parts.with_row_index("i").sort([ID_HIGH, ID_LOW], maintain_order=True)["i"]


def _gather(columns: list[pl.Series], order: pl.Series) -> pl.DataFrame:
    """The columns taken in ``order``, one at a time, each dropped from ``columns`` once taken.

    When ``columns`` holds the last reference to a frame's columns, each is freed as soon as
    its sorted copy exists, so the sort needs memory for one more column, not a second frame.
    One contiguous chunk per column makes the gather about twice as fast, so each column is
    rechunked first (a no-op when it already is one chunk).
    """
    out: list[pl.Series] = []
    while columns:
        column = columns.pop(0).rechunk()
        out.append(column.gather(order))
        del column
    return pl.DataFrame(out)


def sort_by_event_id(df: pl.DataFrame) -> pl.DataFrame:
    """``df.sort("event_id", maintain_order=True)``, faster for orgnet's event ids
    (:func:`collect_events` of the frame); a frame without ``event_id`` is returned as it is."""
    return collect_events(df.lazy()) if "event_id" in df.columns else df


def collect_events(events: pl.LazyFrame) -> pl.DataFrame:
    """Collect a person-event query sorted by event id, in less memory.

    Orgnet's ids (20 lower-case hex digits) are sorted as two integers; any other id falls back
    to the string sort, so the order is that of ``sort("event_id", maintain_order=True)``
    either way. The query runs on polars' streaming engine, which does not hold the joins'
    intermediate frames at once, and the sort moves one column at a time. At 10,000 people x
    12 months (9.2 M events, 1.7 GiB) the step's peak fell from 3.4 to 2.7 GiB and its time
    from 6.5 to 5.2 s against collecting the query and then sorting the whole frame.

    Parameters
    ----------
    events
        A query with an ``event_id`` column (:func:`orgnet.graph.build.person_events`).

    Returns
    -------
    pl.DataFrame
        The rows in event-id order; rows with equal ids keep the order the engine produced.
    """
    df = events.collect(engine="streaming")
    if df.height < 2:
        return df.rechunk()
    order = _event_order(df)
    if order is None:
        return df.sort("event_id", maintain_order=True)
    columns = df.get_columns()
    del df  # the list now holds the only reference to each column
    return _gather(columns, order)


#: Person-event columns held as dictionary codes (polars ``Categorical``) in the compact table.
CODED_COLUMNS = ("source", "kind", "actor", "target", "artifact_id", "container", "value")
_HEX_BYTE = [f"{i:02x}" for i in range(256)]


def collect_event_table(events: pl.LazyFrame) -> pl.DataFrame:
    """Collect a person-event query as the compact event table, sorted by event id.

    The query's text columns (:data:`CODED_COLUMNS`: people, kinds, artifacts, containers,
    values) are held as dictionary codes (``pl.Categorical``: 4 bytes per row, each distinct
    string once) and orgnet's event ids (20 lower-case hex digits) as two integers
    (``event_id_high``, ``event_id_low``), so a row takes about 55 bytes instead of about 200
    (at 10,000 people x 12 months, 9.2 M events: 1.7 GiB as text). :func:`decode_events`
    gives the text columns back; filters on the codes (``==``, ``is_in``, ``is_null``) mean
    what they mean on the text. Ids that are not orgnet's stay text.

    Rows are in event-id order, the same order as :func:`collect_events`; when two rows share
    an id, every column breaks the tie (in the text's order), so the order does not depend on
    the scan.

    Parameters
    ----------
    events
        A person-event query: :func:`orgnet.graph.build.person_events`, cheapest with
        ``codes=True`` (text columns it gives as text are cast here, after the joins).

    Returns
    -------
    pl.DataFrame
        The compact table: ``event_id_high, event_id_low`` (or ``event_id``) first, then the
        query's other columns, text columns as ``pl.Categorical``.
    """
    schema = events.collect_schema()
    coded = [c for c in CODED_COLUMNS if schema.get(c) == pl.String]
    query = events.with_columns(pl.col(coded).cast(pl.Categorical)) if coded else events
    df: pl.DataFrame | None = None
    if schema.get("event_id") == pl.String:
        names = [n for c in schema for n in ((ID_HIGH, ID_LOW) if c == "event_id" else (c,))]
        df = query.with_columns(*_id_parts(pl.col("event_id"))).select(names).collect(
            engine="streaming")
        if df.height and df[ID_HIGH].null_count():
            df = None  # an id that is not orgnet's: keep the ids as text
    if df is None:
        df = query.collect(engine="streaming")
        if df.height < 2 or "event_id" not in df.columns:
            return df.rechunk()
        keys = ["event_id"]
        order = df.select("event_id").with_row_index("i").sort("event_id",
                                                               maintain_order=True)["i"]
    else:
        if df.height < 2:
            return df.rechunk()
        keys = [ID_HIGH, ID_LOW]
        order = df.select(keys).with_row_index("i").sort(keys, maintain_order=True)["i"]
    columns = df.get_columns()
    del df  # the list now holds the only reference to each column
    table = _gather(columns, order)
    repeated = table.select(
        pl.any_horizontal([pl.col(c).is_null() for c in keys]).any()
        | pl.all_horizontal([pl.col(c) == pl.col(c).shift(1) for c in keys]).any()
    ).item()
    if repeated:
        # Repeated (or missing) ids: every column breaks the tie. Codes sort as their text.
        table = table.sort(table.columns, nulls_last=True, maintain_order=True)
    return table


def _hex_digits(expr: pl.Expr, n_bytes: int) -> list[pl.Expr]:
    """``expr`` (an unsigned integer) as ``2 * n_bytes`` lower-case hex digits, big-endian."""
    return [(expr // (256 ** k) % 256).replace_strict(list(range(256)), _HEX_BYTE,
                                                      return_dtype=pl.String)
            for k in range(n_bytes - 1, -1, -1)]


def decode_events(table: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The compact event table (or a filtered or projected part of it) with its text back.

    Codes become text and ``event_id_high, event_id_low`` become ``event_id`` again, in the
    column's place: the result is what :func:`collect_events` gives for the same rows. Filter
    and select on the compact table before decoding: only what is decoded takes text's memory.

    Parameters
    ----------
    table
        Rows of :func:`collect_event_table` (any of its columns).

    Returns
    -------
    pl.LazyFrame
        The same rows and columns, as text.
    """
    lf = table.lazy()
    schema = lf.collect_schema()
    out: list[pl.Expr] = []
    for name, dtype in schema.items():
        if name == ID_HIGH:
            digits = _hex_digits(pl.col(ID_HIGH), 8)
            if ID_LOW in schema:
                digits += _hex_digits(pl.col(ID_LOW), 2)
            out.append(pl.concat_str(digits).alias("event_id"))
        elif name == ID_LOW:
            continue
        elif dtype == pl.Categorical:
            out.append(pl.col(name).cast(pl.String))
        else:
            out.append(pl.col(name))
    return lf.select(out)


def with_home_units(frame: pl.DataFrame, home: Mapping[str, str] | pl.DataFrame,
                    left: str = "src", right: str = "dst", *,
                    names: tuple[str, str] = ("ua", "ub"), how: Literal["inner", "left"] = "inner"
                    ) -> pl.DataFrame:
    """``frame`` with the main units of the people in ``left`` and ``right`` as ``names``.

    Parameters
    ----------
    home
        Person -> main unit (:meth:`AnalysisContext.home_unit`), or its frame
        (:meth:`AnalysisContext.home_frame`).
    how
        ``"inner"`` drops the rows of people without a unit; ``"left"`` keeps them (null unit).

    Returns
    -------
    pl.DataFrame
        The rows in ``frame``'s order.
    """
    units = home if isinstance(home, pl.DataFrame) else _home_table(home)
    for column, name in ((left, names[0]), (right, names[1])):
        frame = frame.join(units.rename({"person": column, "unit": name}), on=column, how=how,
                           maintain_order="left")
    return frame


def _home_table(home: Mapping[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"person": list(home), "unit": list(home.values())},
                        schema={"person": pl.String, "unit": pl.String})


def running_sum(expr: pl.Expr) -> pl.Expr:
    """The sum of ``expr`` in row order, one value after the other (0.0 when empty).

    ``sum()`` adds floats pairwise, which differs from a running total in the last bits, and
    that can move near-equal values past each other in a sort or a quantile. A running sum
    keeps the values a loop over the rows gives.
    """
    return expr.cum_sum().last().fill_null(0.0)


@dataclass
class AnalysisContext:
    """Dataset + options + caches for one analysis run.

    Attributes
    ----------
    data
        The dataset.
    window
        Events considered.
    unit_kind
        Formal level compared with (``team``, ``department``, ``maintainer_section`` ...).
    graph_options
        How events become edges (the window inside is replaced by ``window``).
    at
        Date of the formal structure (default: the window end, else the latest event day).
    min_group_size
        Privacy threshold for unit-level findings.
    view_cache
        Where built graph views are kept across runs (:class:`~orgnet.graph.cache.ViewCache`);
        ``None``: built views live only as long as the context.
    """

    data: Dataset
    window: Window = field(default_factory=Window)
    unit_kind: str = "team"
    graph_options: GraphOptions | None = None
    at: dt.date | None = None
    min_group_size: int = 5
    view_cache: ViewCache | None = None
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def options(self) -> GraphOptions:
        """Graph options with this context's window."""
        base = self.graph_options or GraphOptions()
        if base.window == self.window:
            return base
        return GraphOptions(
            window=self.window, exclude_bots=base.exclude_bots, kind_weights=base.kind_weights,
            view_weights=base.view_weights, half_life_days=base.half_life_days,
            changeset_cap=base.changeset_cap, coedit_depth=base.coedit_depth,
            max_thread_size=base.max_thread_size,
        )

    def cached(self, key: Any, make: Any) -> Any:
        """The value cached under ``key``, computed with ``make()`` the first time.

        Finding rules use it to reuse an analysis frame another rule already computed. Safe
        from several threads (analyses run side by side): one computes, the others wait for
        its value.
        """
        return cached_in(self._cache, key, make)

    _cached = cached

    def graph(self, view: View) -> Graph:
        """A graph view (built once per context, from the context's collected events)."""
        def make() -> Graph:
            stored = self.view_cache.load(view, self.options) if self.view_cache else None
            if stored is not None:
                return stored
            if view == "coedit":
                built = build_view(self.data, view, self.options, matrix=self.coedit_matrix())
            else:
                coedit = None
                if view == "collaboration" and float(self.options.view_weights.get("coedit", 1.0)):
                    coedit = self.graph("coedit").edges
                built = build_view(self.data, view, self.options,
                                   events=self.event_table().lazy(),
                                   coedit=coedit)
            if self.view_cache is not None:
                self.view_cache.save(built, self.options)
            return built

        return self._cached(("graph", view), make)

    def period(self, since: dt.date, until: dt.date, *, at: dt.date | None = None) -> AnalysisContext:
        """A context for ``[since, until)`` over the same data and options (trends, monthly views).

        When this context's events are already collected, cover the period, and do not depend
        on the window end (no decay), the period's events are taken from them instead of scanning
        the event table again; the result is the same rows either way.
        """
        window = Window.of(since, until)
        sub = AnalysisContext(self.data, window=window, unit_kind=self.unit_kind,
                              graph_options=self.graph_options, at=at,
                              min_group_size=self.min_group_size, view_cache=self.view_cache)
        parent = self._cache.get("event_table")
        covers = ((self.window.since is None or (window.since is not None
                                                 and self.window.since <= window.since))
                  and (self.window.until is None or (window.until is not None
                                                     and window.until <= self.window.until)))
        if parent is not None and covers and not self.options.half_life_days:
            # The parent's events are sorted by event id and a filter keeps that order.
            sub._cache["event_table"] = parent.filter(window.expr("ts"))
        return sub

    def coedit_matrix(self) -> tuple[Any, list[str], list[str]]:
        """:func:`orgnet.graph.build.coedit_matrix` of the window (computed once): the co-edit
        view and the unit pairs' shared files both read it."""
        return self._cached("coedit_matrix", lambda: coedit_matrix(self.data, self.options))

    def event_table(self) -> pl.DataFrame:
        """The window's person-level events as the compact table (:func:`collect_event_table`:
        text as dictionary codes, sorted by event id), collected once. Filter and select on it,
        then :func:`decode_events`, or use :meth:`events`."""
        table: pl.DataFrame = self._cached(
            "event_table",
            lambda: collect_event_table(person_events(self.data, self.options, codes=True)))
        return table

    def events(self, where: pl.Expr | None = None,
               columns: Sequence[str] | None = None) -> pl.DataFrame:
        """Person-level events of the window as text, in event-id order.

        Parameters
        ----------
        where
            Keep only these rows. The filter runs on the compact table (:meth:`event_table`)
            before anything is decoded: equality, ``is_in`` and null tests of text columns,
            and any test of ``ts`` or ``w``, mean there what they mean on text. A filter
            that reads ``event_id`` runs on the decoded rows instead (slower).
        columns
            Decode only these columns, returned in the table's column order (default: every
            column of :func:`orgnet.graph.build.person_events`).

        Returns
        -------
        pl.DataFrame
            Decoded on every call (not cached): at 100,000 people the whole table as text
            takes tens of GiB, so analyses ask for the rows and columns they read.
        """
        lf = self.event_table().lazy()
        if where is not None:
            if "event_id" in where.meta.root_names() and "event_id" not in lf.collect_schema():
                lf = decode_events(lf)  # ids are integers in the table
            lf = lf.filter(where)
        if columns is not None:
            wanted = set(columns) | ({ID_HIGH, ID_LOW} if "event_id" in columns else set())
            lf = lf.select([c for c in lf.collect_schema().names() if c in wanted])
        return decode_events(lf).collect()

    def formal_date(self) -> dt.date:
        """The date the formal structure is read at."""
        if self.at is not None:
            return self.at
        if self.window.until is not None:
            return (self.window.until - dt.timedelta(microseconds=1)).date()
        _lo, hi = self.cached("time_range", self.data.time_range)
        if hi is not None:
            return hi.date()
        latest = self.data.memberships["valid_from"].max() if self.data.memberships.height else None
        return latest if isinstance(latest, dt.date) else dt.date.today()

    def membership(self, unit_kind: str | None = None, at: dt.date | None = None) -> pl.DataFrame:
        """``person_id, unit_id, share, role, manager_id, level`` at the formal date."""
        kind = unit_kind or self.unit_kind
        day = at or self.formal_date()
        return self._cached(
            ("membership", kind, day),
            lambda: membership_at(self.data.memberships, self.data.units, at=day, unit_kind=kind),
        )

    def home_unit(self, unit_kind: str | None = None, at: dt.date | None = None) -> dict[str, str]:
        """Each person's main unit (largest share; ties by unit id)."""
        m = self.membership(unit_kind, at).sort(["person_id", "share", "unit_id"],
                                                descending=[False, True, False])
        return dict(m.unique("person_id", keep="first").select("person_id", "unit_id").iter_rows())

    def home_frame(self) -> pl.DataFrame:
        """:meth:`home_unit` as a frame, ``person, unit`` (computed once)."""
        frame: pl.DataFrame = self._cached("home_frame", lambda: _home_table(self.home_unit()))
        return frame

    def unit_sizes(self, unit_kind: str | None = None) -> dict[str, int]:
        """Members per unit at the formal date."""
        m = self.membership(unit_kind)
        return dict(m.group_by("unit_id").agg(pl.col("person_id").n_unique()).iter_rows())

    def finding_context(self) -> FindingContext:
        """Names, unit sizes and the privacy threshold for writing findings."""
        return FindingContext(
            person_names=dict(self.data.people.select("person_id", "display_name").iter_rows()),
            unit_names=dict(self.data.units.select("unit_id", "name").iter_rows()),
            unit_sizes=self.unit_sizes(),
            min_group_size=self.min_group_size,
        )


#: Key, in a context's cache, of the locks of its entries (the cache is shared by contexts that
#: differ only in unit level, so their locks are too).
_LOCKS: Final = ("_cache_locks",)


def cached_in(cache: dict[Any, Any], key: Any, make: Callable[[], Any]) -> Any:
    """``cache[key]``, computed with ``make()`` when missing, once however many threads ask.

    Each key has its own lock, so threads computing different values (two analyses, each
    building its own graph view) do not wait for each other; a thread asking for a value
    another is computing waits for it instead of computing it again. ``make`` may ask for other
    keys; the values depend on each other without cycles, so the locks cannot deadlock.

    Parameters
    ----------
    cache
        An analysis context's cache.
    key
        Hashable key of the value.
    make
        Computes the value.

    Returns
    -------
    Any
        The cached value.
    """
    try:
        return cache[key]
    except KeyError:
        pass
    locks = cache.get(_LOCKS)
    if locks is None:
        locks = cache.setdefault(_LOCKS, {})  # atomic: every thread gets the same dict
    lock = locks.get(key)
    if lock is None:
        lock = locks.setdefault(key, threading.RLock())
    with lock:
        if key not in cache:
            cache[key] = make()
        return cache[key]


def ensure_context(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
) -> AnalysisContext:
    """Use ``data`` when it is a context (window/unit_kind must then agree), else make one."""
    if isinstance(data, AnalysisContext):
        if window is not None and window != data.window:
            return AnalysisContext(data.data, window=window, unit_kind=unit_kind or data.unit_kind,
                                   graph_options=data.graph_options, at=data.at,
                                   min_group_size=data.min_group_size,
                                   view_cache=data.view_cache)
        if unit_kind is not None and unit_kind != data.unit_kind:
            return AnalysisContext(data.data, window=data.window, unit_kind=unit_kind,
                                   graph_options=data.graph_options, at=data.at,
                                   min_group_size=data.min_group_size,
                                   view_cache=data.view_cache, _cache=data._cache)
        return data
    return AnalysisContext(data, window=window or Window(), unit_kind=unit_kind or "team")


def memoized(fn: F) -> F:
    """Cache an analysis function's result in the analysis context it is called with.

    Finding rules call the analyses again (``find_gatekeeper`` needs ``outsider_friction``,
    ``gate_share`` and ``gould_fernandez``; ``find_hidden_influencer`` needs ``influence`` ...);
    with a shared context each is computed once. The key is the function, the context's window,
    unit level, formal date and privacy threshold and the keyword options; calls with a
    :class:`~orgnet.dataset.Dataset` or with unhashable options are not cached. Results are
    polars frames, which are immutable, so sharing them is safe.
    """
    name = f"{fn.__module__}.{fn.__qualname__}"
    defaults = {k: p.default for k, p in inspect.signature(fn).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not p.empty}

    @functools.wraps(fn)
    def wrapper(data: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(data, AnalysisContext):
            return fn(data, *args, **kwargs)
        ctx = ensure_context(data, window=kwargs.get("window"), unit_kind=kwargs.get("unit_kind"))
        # Options equal to their defaults are the same call as leaving them out.
        given = {**defaults, **kwargs}
        options = tuple(sorted((k, v) for k, v in given.items() if k not in ("window", "unit_kind")))
        key = ("memoized", name, ctx.window, ctx.unit_kind, ctx.at, ctx.min_group_size,
               id(ctx.graph_options), args, options)
        try:
            hash(key)
        except TypeError:
            return fn(data, *args, **kwargs)
        return cached_in(ctx._cache, key, lambda: fn(ctx, *args, **kwargs))

    return wrapper  # type: ignore[return-value]
