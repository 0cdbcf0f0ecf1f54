"""The column-wise congruence measures against the plain loops they replaced.

``unit_congruence``, ``person_congruence`` and ``one_sided_relationships`` used to walk every
co-edit edge and every tie in Python. The loops are kept here, verbatim in what they compute, as
the reference: on random organisations the frames must be equal, sums to the last bit (they
are running sums in row order, as the loops added them).
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from orgnet.analysis._context import AnalysisContext
from orgnet.analysis.blind_spots import (
    CONGRUENCE_SCHEMA,
    ONE_SIDED_SCHEMA,
    PERSON_CONGRUENCE_SCHEMA,
    _unit_ties,
    one_sided_relationships,
    person_congruence,
    unit_congruence,
)
from orgnet.graph.build import coedit_matrix

from .factory import dataset


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _ref_ties(ctx: AnalysisContext) -> dict[tuple[str, str], tuple[float, float]]:
    out: dict[tuple[str, str], list[float]] = {}
    for idx, view in enumerate(("communication", "review")):
        for s, d, w in ctx.graph(view).edges.select("src", "dst", "weight").iter_rows():
            t = out.setdefault(_pair(s, d), [0.0, 0.0])
            t[idx] += w
    return {k: (v[0], v[1]) for k, v in out.items()}


def _ref_unit_congruence(ctx: AnalysisContext) -> pl.DataFrame:
    home = ctx.home_unit()
    cr = ctx.graph("coedit").edges.select("src", "dst", "weight")
    ties = _ref_ties(ctx)
    acc: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0])
    for s, d, w in cr.iter_rows():
        us, ud = home.get(s), home.get(d)
        if us is None or ud is None or us == ud:
            continue
        a = acc[_pair(us, ud)]
        a[0] += w
        a[2] += 1
        if _pair(s, d) in ties:
            a[1] += w
            a[3] += 1
    between: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (s, d), (comm, rev) in ties.items():
        us, ud = home.get(s), home.get(d)
        if us is None or ud is None or us == ud:
            continue
        b = between[_pair(us, ud)]
        b[0] += comm
        b[1] += rev
    # shared files, counted file by file: the units of the people who changed each file
    ta, people, _paths = coedit_matrix(ctx.data, ctx.options)
    coo = ta.tocoo()
    units_of: dict[int, set[str]] = defaultdict(set)
    for row, column in zip(coo.row.tolist(), coo.col.tolist(), strict=True):
        if people[row] in home:
            units_of[column].add(home[people[row]])
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for us in units_of.values():
        for ua in us:
            for ub in us:
                if ua < ub:
                    shared[(ua, ub)] += 1
    rows = []
    for (ua, ub), (need, met, pairs, tied) in acc.items():
        comm, rev = between.get((ua, ub), [0.0, 0.0])
        rows.append({"unit_a": ua, "unit_b": ub, "need": need, "met_need": met,
                     "congruence": met / need if need else float("nan"),
                     "person_pairs": int(pairs), "tied_pairs": int(tied),
                     "shared_files": shared.get((ua, ub), 0),
                     "communication": comm, "reviews": rev})
    if not rows:
        return pl.DataFrame()
    df = pl.DataFrame(rows).with_columns(
        ((pl.col("need").rank("average") - 1) / max(len(rows) - 1, 1)).alias("need_quantile"))
    return df.sort(["need", "unit_a", "unit_b"], descending=[True, False, False])


def _ref_person_congruence(ctx: AnalysisContext) -> pl.DataFrame:
    ties = _ref_ties(ctx)
    home = ctx.home_unit()
    acc: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for s, d, w in ctx.graph("coedit").edges.select("src", "dst", "weight").iter_rows():
        tied = _pair(s, d) in ties
        for p in (s, d):
            a = acc[p]
            a[0] += 1
            a[2] += w
            if tied:
                a[1] += 1
                a[3] += w
    rows = [{"person_id": p, "unit_id": home.get(p), "partners": int(a[0]),
             "tied_partners": int(a[1]), "need": a[2],
             "congruence": a[3] / a[2] if a[2] else float("nan")} for p, a in acc.items()]
    return pl.DataFrame(rows, schema=PERSON_CONGRUENCE_SCHEMA).sort("person_id")


def _random_org(seed: int) -> Any:
    rng = random.Random(seed)
    units = {"o1": ("Org one", None, "department"), "o2": ("Org two", None, "department")}
    for k in range(8):
        units[f"u{k}"] = (f"Unit {k}", "o1" if k < 5 else "o2", "team")
    people = {f"p{i:03d}": f"u{rng.randrange(8)}" for i in range(70)}
    names = sorted(people)
    kinds = ["review_approved", "review_commented", "chat_reply", "chat_message", "mention"]
    events = []
    for _ in range(900):
        a, b = rng.sample(names, 2)
        if rng.random() < 0.5:  # mostly within the unit, as in an org
            same = [p for p in names if people[p] == people[a] and p != a]
            b = rng.choice(same) if same else b
        events.append((rng.choice(kinds), a, b))
    touches = [(f"k{i}", rng.choice(names), f"src/f{rng.randrange(120)}.py") for i in range(700)]
    return dataset(people, units=units, events=events, touches=touches)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_unit_congruence_matches_the_loop(seed: int) -> None:
    ctx = AnalysisContext(_random_org(seed))
    got = unit_congruence(ctx)
    ref = _ref_unit_congruence(ctx)
    assert got.schema == CONGRUENCE_SCHEMA
    assert got.height == ref.height > 5
    cols = list(ref.columns)
    assert_frame_equal(got.select(cols), ref.select(cols).cast(got.select(cols).schema),
                       check_exact=True)
    assert (got["shared_files"] >= 0).all() and got["shared_files"].sum() > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_person_congruence_matches_the_loop(seed: int) -> None:
    ctx = AnalysisContext(_random_org(seed))
    got = person_congruence(ctx)
    ref = _ref_person_congruence(ctx)
    assert got.height == ref.height > 20
    assert_frame_equal(got, ref, check_exact=True)
    assert got["tied_partners"].sum() > 0


def test_unit_ties_of_one_sided_relationships_match_the_loop() -> None:
    # one_sided_relationships decides from these totals (its by-hand tests cover the rest).
    for seed in range(1, 5):
        ctx = AnalysisContext(_random_org(seed))
        home = ctx.home_unit()
        weight: dict[tuple[str, str], float] = defaultdict(float)
        count: dict[tuple[str, str], int] = defaultdict(int)
        for (s, d), (comm, rev) in _ref_ties(ctx).items():
            us, ud = home.get(s), home.get(d)
            if us is None or ud is None or us == ud:
                continue
            weight[_pair(us, ud)] += comm + rev
            count[_pair(us, ud)] += 1
        got = _unit_ties(ctx)
        assert {(a, b): (w, n) for a, b, w, n in got.select("ua", "ub", "w", "n").iter_rows()} == {
            k: (weight[k], count[k]) for k in weight}
        assert got.height > 5
        assert one_sided_relationships(ctx, min_ties=1, max_neglected_tie_share=0.3,
                                       neglected_need_share=0.1).schema == ONE_SIDED_SCHEMA


def test_coedit_matrix_is_read_once_per_context(monkeypatch: pytest.MonkeyPatch) -> None:
    import orgnet.analysis._context as context_module

    calls: list[int] = []
    real = context_module.coedit_matrix

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(context_module, "coedit_matrix", counted)
    ctx = AnalysisContext(_random_org(1))
    # The co-edit view and the unit pairs' shared files both come from the one matrix.
    cong = unit_congruence(ctx)
    person_congruence(ctx)
    assert cong["shared_files"].sum() > 0 and ctx.graph("coedit").edges.height > 0
    assert len(calls) == 1
    ref = _ref_unit_congruence(AnalysisContext(_random_org(1)))
    assert cong["shared_files"].to_list() == ref["shared_files"].to_list()
