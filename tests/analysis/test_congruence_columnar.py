"""The column-wise congruence measures against the plain loops they replaced.

``unit_congruence``, ``person_congruence`` and ``one_sided_relationships`` used to walk every
co-edit edge and every tie in Python. The loops are kept here, verbatim in what they compute, as
the reference: on random organisations the frames must agree (counts exactly, sums to rounding).
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from polars.testing import assert_frame_equal

from orgnet.analysis._context import AnalysisContext
from orgnet.analysis.blind_spots import (
    CONGRUENCE_SCHEMA,
    ONE_SIDED_SCHEMA,
    PERSON_CONGRUENCE_SCHEMA,
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
    # shared files: B·Bᵀ of units x files, as the loop version computed it
    ta, people, _paths = coedit_matrix(ctx.data, ctx.options)
    units = sorted({u for p in people if (u := home.get(p)) is not None})
    upos = {u: i for i, u in enumerate(units)}
    person_unit = np.array([upos[home[p]] if p in home else -1 for p in people], dtype=np.int64)
    coo = ta.tocoo()
    r = person_unit[coo.row]
    keep = r >= 0
    b = sp.csr_matrix((np.ones(int(keep.sum())), (r[keep], coo.col[keep])),
                      shape=(len(units), ta.shape[1]))
    b.sum_duplicates()
    b.data[:] = 1.0
    tri = sp.triu(b @ b.T, k=1).tocoo()
    shared = {(units[i], units[j]): round(n) for i, j, n in
              zip(tri.row.tolist(), tri.col.tolist(), tri.data.tolist(), strict=True) if n > 0}
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
                       check_exact=False, rel_tol=1e-12, abs_tol=1e-12)
    assert (got["shared_files"] >= 0).all() and got["shared_files"].sum() > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_person_congruence_matches_the_loop(seed: int) -> None:
    ctx = AnalysisContext(_random_org(seed))
    got = person_congruence(ctx)
    ref = _ref_person_congruence(ctx)
    assert got.height == ref.height > 20
    assert_frame_equal(got, ref, check_exact=False, rel_tol=1e-12, abs_tol=1e-12)
    assert got["tied_partners"].sum() > 0


def _ref_one_sided(ctx: AnalysisContext, max_neglected_tie_share: float = 0.1,
                   neglected_need_share: float = 0.2, min_ties: int = 5) -> pl.DataFrame:
    cong = _ref_unit_congruence(ctx)
    parent = dict(ctx.data.units.select("unit_id", "parent_id").iter_rows())
    home = ctx.home_unit()
    need: dict[str, dict[str, float]] = defaultdict(dict)
    for r in cong.iter_rows(named=True):
        need[r["unit_a"]][r["unit_b"]] = r["need"]
        need[r["unit_b"]][r["unit_a"]] = r["need"]
    tie_weight: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    tie_count: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (s, d), (comm, rev) in _ref_ties(ctx).items():
        us, ud = home.get(s), home.get(d)
        if us is None or ud is None or us == ud:
            continue
        tie_weight[us][ud] += comm + rev
        tie_weight[ud][us] += comm + rev
        tie_count[us][ud] += 1
        tie_count[ud][us] += 1
    rows = []
    for t in sorted(need):
        by_parent: dict[str, list[str]] = defaultdict(list)
        for x in need[t]:
            if (p := parent.get(x)) is not None:
                by_parent[p].append(x)
        for p, xs in sorted(by_parent.items()):
            if len(xs) < 2:
                continue
            total_need = sum(need[t][x] for x in xs)
            n_ties = sum(tie_count[t].get(x, 0) for x in xs)
            ties = {x: tie_weight[t].get(x, 0.0) for x in xs}
            total_ties = sum(ties.values())
            if n_ties < max(min_ties, 1) or total_need <= 0 or total_ties <= 0:
                continue
            fav = max(sorted(xs), key=lambda x: ties[x])
            cands = [x for x in sorted(xs) if x != fav
                     and ties[x] / total_ties <= max_neglected_tie_share
                     and need[t][x] / total_need >= neglected_need_share]
            if not cands:
                continue
            neg = max(cands, key=lambda x: need[t][x])
            rows.append({"unit_id": t, "parent_id": p, "favoured_unit": fav,
                         "neglected_unit": neg, "favoured_tie_share": ties[fav] / total_ties,
                         "neglected_tie_share": ties[neg] / total_ties,
                         "neglected_need_share": need[t][neg] / total_need,
                         "need_with_parent": total_need, "ties_with_parent": float(n_ties)})
    return pl.DataFrame(rows, schema=ONE_SIDED_SCHEMA).sort(
        ["neglected_need_share", "unit_id"], descending=[True, False])


def test_one_sided_relationships_match_the_loop() -> None:
    found = 0
    for seed in range(1, 7):
        ctx = AnalysisContext(_random_org(seed))
        # thresholds loose enough that random organisations have some
        opts: dict[str, Any] = {"min_ties": 1, "max_neglected_tie_share": 0.3,
                                "neglected_need_share": 0.1}
        got = one_sided_relationships(ctx, **opts)
        ref = _ref_one_sided(ctx, **opts)
        assert_frame_equal(got, ref, check_exact=False, rel_tol=1e-12, abs_tol=1e-12)
        found += got.height
    assert found > 0


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
