"""Gould-Fernandez brokerage and Burt's structural holes on hand-checkable graphs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from orgnet.analysis import AnalysisContext, brokerage
from orgnet.analysis.brokerage import (
    BROKERAGE_ROLES,
    GOULD_FERNANDEZ_SCHEMA,
    STRUCTURAL_HOLES_SCHEMA,
    _burt,
    gould_fernandez,
    gould_fernandez_counts,
    gould_fernandez_moments,
    structural_holes,
)
from orgnet.dataset import Dataset, Window
from orgnet.schema import conform

T0 = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)

Event = tuple[Any, ...]


def make_dataset(
    units: Mapping[str, str | None],
    events: Iterable[Event],
    *,
    artifacts: Sequence[Mapping[str, Any]] = (),
    levels: Mapping[str, str] | None = None,
    managers: Mapping[str, str] | None = None,
    ownership: pl.DataFrame | None = None,
    touches: Sequence[Mapping[str, Any]] = (),
    unit_parent: Mapping[str, str] | None = None,
) -> Dataset:
    """A dataset where identity id == person id.

    ``events`` are ``(kind, actor, target[, artifact_id[, ts[, value[, container]]]])``.
    """
    people = sorted(units)
    levels = levels or {}
    managers = managers or {}
    unit_ids = sorted({u for u in units.values() if u is not None} | set((unit_parent or {}).values()))
    rows = []
    for i, ev in enumerate(events):
        kind, actor, target, *rest = ev
        art = rest[0] if len(rest) > 0 else None
        ts = rest[1] if len(rest) > 1 else T0
        value = rest[2] if len(rest) > 2 else None
        container = rest[3] if len(rest) > 3 else "repo"
        rows.append({"event_id": f"e{i}", "source": "test", "kind": kind, "actor_id": actor,
                     "target_id": target, "artifact_id": art, "container": container, "ts": ts,
                     "value": value, "weight": 1.0})
    inter = conform("interactions", pl.DataFrame(rows, schema_overrides={"ts": pl.Datetime("us", "UTC")})
                    if rows else pl.DataFrame(schema={"event_id": pl.String}))
    mem = [(p, u) for p, u in units.items() if u is not None]
    return Dataset(
        people=conform("people", pl.DataFrame({
            "person_id": people, "display_name": [p.title() for p in people],
            "is_bot": [False] * len(people), "in_org_chart": [True] * len(people)})),
        identities=conform("identities", pl.DataFrame({
            "identity_id": people, "person_id": people, "source": ["test"] * len(people),
            "origin": ["observed"] * len(people), "is_bot": [False] * len(people)})),
        units=conform("units", pl.DataFrame({
            "unit_id": unit_ids, "name": [u.upper() for u in unit_ids],
            "parent_id": [(unit_parent or {}).get(u) for u in unit_ids],
            "kind": ["team"] * len(unit_ids), "source": ["test"] * len(unit_ids)},
            schema_overrides={"parent_id": pl.String})),
        memberships=conform("memberships", pl.DataFrame({
            "person_id": [p for p, _ in mem], "unit_id": [u for _, u in mem],
            "role": ["member"] * len(mem), "precision": ["unknown"] * len(mem),
            "source": ["test"] * len(mem), "level": [levels.get(p) for p, _ in mem],
            "manager_id": [managers.get(p) for p, _ in mem]},
            schema_overrides={"level": pl.String, "manager_id": pl.String})),
        artifacts=conform("artifacts", pl.DataFrame(list(artifacts)) if artifacts else
                          pl.DataFrame(schema={"artifact_id": pl.String})),
        ownership=ownership if ownership is not None else conform(
            "ownership", pl.DataFrame(schema={"rule_id": pl.String})),
        interactions=inter.lazy(),
        touches=conform("touches", pl.DataFrame(list(touches)) if touches else
                        pl.DataFrame(schema={"artifact_id": pl.String})).lazy(),
    )


# -- the hand-worked example ---------------------------------------------------------------------
#
# Groups: A = {a1, a2, a3}, B = {b1, b2}, C = {c1}; x has no unit (its own singleton group).
# Arcs (a "mention" actor -> target is a communication arc):
#   a1->a2, a2->a3, a2->b1, a1->b1, b1->a1, b1->b2, b2->c1, c1->b1, c1->x       (m = 9, N = 7)
#
# Every 2-path a -> v -> c with a != c, enumerated per broker v (in(v) x out(v)):
#   a1: in {b1}, out {a2, b1}
#       b1->a1->a2  open (no b1->a2)   B,A,A  gatekeeper
#       b1->a1->b1  a == c             excluded
#   a2: in {a1}, out {a3, b1}
#       a1->a2->a3  open (no a1->a3)   A,A,A  coordinator
#       a1->a2->b1  closed (a1->b1)    excluded
#   a3: in {a2}, out {}                nothing
#   b1: in {a1, a2, c1}, out {a1, b2}
#       a1->b1->a1  a == c             excluded
#       a1->b1->b2  open               A,B,B  gatekeeper
#       a2->b1->a1  open (no a2->a1)   A,B,A  itinerant
#       a2->b1->b2  open               A,B,B  gatekeeper
#       c1->b1->a1  open               C,B,A  liaison
#       c1->b1->b2  open               C,B,B  gatekeeper
#   b2: in {b1}, out {c1}
#       b1->b2->c1  open (no b1->c1)   B,B,C  representative
#   c1: in {b2}, out {b1, x}
#       b2->c1->b1  open (no b2->b1)   B,C,B  itinerant
#       b2->c1->x   open               B,C,x  liaison
#   x:  in {c1}, out {}                nothing
HAND_UNITS = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "c1": "C", "x": None}
HAND_ARCS = [("a1", "a2"), ("a2", "a3"), ("a2", "b1"), ("a1", "b1"), ("b1", "a1"), ("b1", "b2"),
             ("b2", "c1"), ("c1", "b1"), ("c1", "x")]
#          coordinator, itinerant, representative, gatekeeper, liaison, total
HAND_COUNTS = {
    "a1": (0, 0, 0, 1, 0, 1),
    "a2": (1, 0, 0, 0, 0, 1),
    "a3": (0, 0, 0, 0, 0, 0),
    "b1": (0, 1, 0, 3, 1, 5),
    "b2": (0, 0, 1, 0, 0, 1),
    "c1": (0, 1, 0, 0, 1, 2),
    "x": (0, 0, 0, 0, 0, 0),
}


def hand_dataset() -> Dataset:
    return make_dataset(HAND_UNITS, [("mention", a, c) for a, c in HAND_ARCS])


def test_hand_worked_counts() -> None:
    gf = gould_fernandez(hand_dataset())
    assert gf["person_id"].to_list() == sorted(HAND_COUNTS)
    for row in gf.iter_rows(named=True):
        assert tuple(row[r] for r in BROKERAGE_ROLES) == HAND_COUNTS[row["person_id"]], row["person_id"]
    assert gf.filter(pl.col("person_id") == "x")["unit_id"].item() is None
    assert gf.schema == pl.Schema(GOULD_FERNANDEZ_SCHEMA)


def test_hand_worked_expectations() -> None:
    # d = 9 / (7 * 6) = 3/14; c = d²(1-d) = 99/2744; e = d³(1-d)³.
    gf = gould_fernandez(hand_dataset())
    d = 9 / 42
    c = d * d * (1 - d)
    e = d**3 * (1 - d) ** 3
    b1 = gf.filter(pl.col("person_id") == "b1").row(0, named=True)
    # Broker in B (n_i = 2); other sizes 3 (A), 1 (C), 1 (x).
    assert b1["exp_coordinator"] == pytest.approx(c * 1 * 0)
    assert b1["exp_itinerant"] == pytest.approx(c * (3 * 2 + 0 + 0))
    assert b1["exp_representative"] == pytest.approx(c * 5 * 1)
    assert b1["exp_gatekeeper"] == pytest.approx(c * 5 * 1)
    assert b1["exp_liaison"] == pytest.approx(c * (5 * 5 - (9 + 1 + 1)))
    assert b1["exp_total"] == pytest.approx(c * 6 * 5)
    # Var(b_OI) = E(1-c) + 2((n-1)C(N-n,2) + (N-n)C(n-1,2)) e = 5c(1-c) + 2(1*10 + 0) e
    sd_gate = np.sqrt(5 * c * (1 - c) + 20 * e)
    assert b1["sd_gatekeeper"] == pytest.approx(sd_gate)
    assert b1["z_gatekeeper"] == pytest.approx((3 - 5 * c) / sd_gate)
    # Var(b_O) = E(1-c) + 4 Σ_{j≠i} n_j C(N-n_j-n_i, 2) e = E(1-c) + 4(3·C(2,2) + 1·C(4,2) + 1·C(4,2)) e
    assert b1["sd_liaison"] == pytest.approx(np.sqrt(14 * c * (1 - c) + 4 * (3 + 6 + 6) * e))
    # Coordinator for a broker in B: E = 0 and Var = 0 -> z is null, not infinite.
    assert b1["sd_coordinator"] == 0.0
    assert b1["z_coordinator"] is None


def test_unassigned_excluded() -> None:
    gf = gould_fernandez(hand_dataset(), unassigned="exclude")
    assert "x" not in gf["person_id"].to_list()
    c1 = gf.filter(pl.col("person_id") == "c1").row(0, named=True)
    assert (c1["itinerant"], c1["liaison"], c1["total"]) == (1, 0, 1)   # b2->c1->x is gone


def _brute(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    n = a.shape[0]
    out = np.zeros((n, 6), dtype=np.int64)
    for v in range(n):
        for s in range(n):
            if s == v or not a[s, v]:
                continue
            for t in range(n):
                if t in (s, v) or not a[v, t] or a[s, t]:
                    continue
                if g[s] == g[v]:
                    role = 0 if g[t] == g[v] else 2
                elif g[v] == g[t]:
                    role = 3
                elif g[s] == g[t]:
                    role = 1
                else:
                    role = 4
                out[v, role] += 1
    out[:, 5] = out[:, :5].sum(axis=1)
    return out


@pytest.mark.parametrize("blocks", [False, True], ids=["one-block", "row-blocks-on-threads"])
@pytest.mark.parametrize("packed", [True, False], ids=["one-packed-product", "three-products"])
@pytest.mark.parametrize("seed", range(40))
def test_counts_match_brute_force(seed: int, packed: bool, blocks: bool,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    if not packed:  # the path taken when some vertex has 2**15 arcs or more
        monkeypatch.setattr(brokerage, "_PACK", 0)
    if blocks:  # products in row blocks of 3 (on two threads for the packed product)
        monkeypatch.setattr(brokerage, "_BLOCK_ROWS", 3)
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 16))
    a = (rng.random((n, n)) < rng.random()).astype(float)
    np.fill_diagonal(a, 0)
    g = rng.integers(0, int(rng.integers(1, 5)), n)
    got = gould_fernandez_counts(sp.csr_matrix(a), g)
    np.testing.assert_array_equal(got, _brute(a, g))


def test_moments_closed_form_matches_sna_sums() -> None:
    # The liaison variance sum Σ_{j≠i} n_j C(N-n_j-n_i, 2) is evaluated in closed form.
    sizes = np.array([4, 1, 7, 3, 2])
    n_total = int(sizes.sum())
    exp, sd = gould_fernandez_moments(sizes, 40, n_total)
    d = 40 / (n_total * (n_total - 1))
    c, e = d * d * (1 - d), d**3 * (1 - d) ** 3
    for i, ni in enumerate(sizes):
        others = np.delete(sizes, i)
        e5 = c * (others.sum() ** 2 - (others**2).sum())
        v5 = e5 * (1 - c) + 4 * sum(nj * (n_total - nj - ni) * (n_total - nj - ni - 1) / 2
                                    for nj in others) * e
        assert exp[i, 4] == pytest.approx(e5)
        assert sd[i, 4] == pytest.approx(np.sqrt(v5))
        e2 = c * (others * (others - 1)).sum()
        v2 = e2 * (1 - c) + 2 * (others * (others - 1) * (others - 2)).sum() * e
        assert sd[i, 1] == pytest.approx(np.sqrt(v2))


def test_empty_window_gives_empty_frames() -> None:
    data = hand_dataset()
    empty = make_dataset({}, [])
    for frame, schema in ((gould_fernandez(empty), GOULD_FERNANDEZ_SCHEMA),
                          (structural_holes(empty), STRUCTURAL_HOLES_SCHEMA)):
        assert frame.height == 0
        assert frame.schema == pl.Schema(schema)
    # A window without events is an empty input: empty frames with the documented schema.
    later = Window.of("2030-01-01", "2031-01-01")
    assert gould_fernandez(data, window=later).equals(pl.DataFrame(schema=GOULD_FERNANDEZ_SCHEMA))
    assert structural_holes(data, window=later).equals(pl.DataFrame(schema=STRUCTURAL_HOLES_SCHEMA))


def test_deterministic_and_order_independent() -> None:
    events = [("mention", a, c) for a, c in HAND_ARCS]
    one = gould_fernandez(make_dataset(HAND_UNITS, events))
    two = gould_fernandez(make_dataset(dict(reversed(list(HAND_UNITS.items()))), list(reversed(events))))
    assert one.equals(two)
    assert structural_holes(hand_dataset()).equals(structural_holes(hand_dataset()))


def test_review_view_is_author_to_reviewer() -> None:
    # b1 reviews a1's and c1's changes; b2 reviews b1's: arcs a1->b1, c1->b1, b1->b2.
    data = make_dataset({"a1": "A", "b1": "B", "b2": "B", "c1": "C"},
                        [("review_approved", "b1", "a1", "r#1"), ("review_approved", "b1", "c1", "r#2"),
                         ("review_approved", "b2", "b1", "r#3")])
    gf = gould_fernandez(data, view="review")
    b1 = gf.filter(pl.col("person_id") == "b1").row(0, named=True)
    assert (b1["gatekeeper"], b1["total"]) == (2, 2)   # a1->b1->b2 and c1->b1->b2


# -- structural holes -------------------------------------------------------------------------------

def test_structural_holes_star_and_triangle() -> None:
    # Undirected collaboration: hub h with spokes s1, s2, s3 (no ties among them), plus t1-t2-h triangle?
    # Keep it a pure star: constraint(h) = 3 * (1/3)² = 1/3, effective size 3; each spoke
    # has one contact: constraint 1, effective size 1.
    data = make_dataset({"h": "A", "s1": "A", "s2": "B", "s3": "C"},
                        [("mention", "h", "s1"), ("mention", "h", "s2"), ("mention", "h", "s3")])
    sh = structural_holes(data)
    row = {r["person_id"]: r for r in sh.iter_rows(named=True)}
    assert row["h"]["constraint"] == pytest.approx(1 / 3)
    assert row["h"]["effective_size"] == pytest.approx(3.0)
    assert row["h"]["efficiency"] == pytest.approx(1.0)
    assert row["s1"]["constraint"] == pytest.approx(1.0)
    assert row["s1"]["effective_size"] == pytest.approx(1.0)
    assert row["h"]["degree"] == 3


@pytest.mark.parametrize("seed", range(6))
def test_burt_matches_networkx(seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = nx.gnp_random_graph(40, 0.12, seed=seed)
    for u, v in g.edges:
        g[u][v]["weight"] = float(rng.integers(1, 6))
    nodes = list(g)
    adj = sp.csr_matrix(nx.to_scipy_sparse_array(g, nodelist=nodes, weight="weight"))
    _deg, cons, eff = _burt(adj)
    ref_c = nx.constraint(g, weight="weight")
    # networkx's matrix path for effective_size (nodes=None) divides by column maxima in 3.6;
    # its per-node path is the published formula.
    ref_e = nx.effective_size(g, nodes=nodes, weight="weight")
    np.testing.assert_allclose(cons, [ref_c[v] for v in nodes], equal_nan=True)
    np.testing.assert_allclose(eff, [ref_e[v] for v in nodes], equal_nan=True)


def test_context_is_shared() -> None:
    ctx = AnalysisContext(hand_dataset())
    assert gould_fernandez(ctx).equals(gould_fernandez(hand_dataset()))
