"""Alignment analyses on hand-checkable organisations."""

from __future__ import annotations

import datetime as dt
import random
from types import SimpleNamespace
from unittest import mock

import polars as pl
import pytest

from orgnet.analysis import alignment
from orgnet.analysis._context import AnalysisContext
from orgnet.analysis.alignment import (
    adjusted_rand_index,
    alignment_scores,
    communities,
    find_informal_team,
    find_misaligned_person,
    find_org_change_lag,
    informal_teams,
    misaligned_people,
    normalized_mutual_info,
    org_change_lag,
)
from orgnet.dataset import Window

from .factory import chatter, dataset, team_of


def test_partition_agreement_by_hand() -> None:
    same = ["x", "x", "y", "y"]
    assert normalized_mutual_info(same, ["p", "p", "q", "q"]) == pytest.approx(1.0)
    assert adjusted_rand_index(same, ["p", "p", "q", "q"]) == pytest.approx(1.0)
    # Independent partitions: MI 0; ARI = (0 - 2/3) / (2 - 2/3) = -0.5.
    assert normalized_mutual_info(same, ["p", "q", "p", "q"]) == pytest.approx(0.0)
    assert adjusted_rand_index(same, ["p", "q", "p", "q"]) == pytest.approx(-0.5)
    # contingency [[2,0],[1,1]]: sum_ij=1, rows 2, cols 3, expected 1, max 2.5 -> ARI 0.
    assert adjusted_rand_index(same, ["p", "p", "p", "q"]) == pytest.approx(0.0)


def _three_teams() -> dict[str, str]:
    return {**team_of(5, "a"), **team_of(5, "b"), **team_of(5, "c")}


def test_communities_recover_clean_teams() -> None:
    people = _three_teams()
    events = []
    for unit in "abc":
        events += chatter([p for p, u in people.items() if u == unit], times=2)
    events += [("chat_reply", "a0", "b0"), ("chat_reply", "b1", "c1")]
    data = dataset(people, events=events)
    scores = alignment_scores(data)
    assert scores.row(0, named=True)["nmi"] == pytest.approx(1.0)
    assert scores.row(0, named=True)["ari"] == pytest.approx(1.0)
    comm = communities(data)
    assert comm.height == 15 and comm["person_id"].is_sorted()
    assert comm.group_by("unit_id").agg(comm["community"].n_unique()).height == 3


def test_misaligned_person_shares_by_hand() -> None:
    people = {**team_of(4, "a"), **team_of(4, "b")}
    events = chatter(["a1", "a2", "a3"]) + chatter(["b0", "b1", "b2", "b3"])
    events += [("chat_reply", "a0", b) for b in ("b0", "b1", "b2") for _ in range(3)]
    events += [("chat_reply", b, "a0") for b in ("b0", "b1", "b2") for _ in range(3)]
    events += [("chat_reply", "a0", "a1"), ("chat_reply", "a1", "a0")]
    data = dataset(people, events=events)
    df = misaligned_people(data)
    assert df["person_id"].to_list() == ["a0"]
    row = df.row(0, named=True)
    # a0: 3 partners in b with weight 6 each, a1 with weight 2 -> 18/20 and 2/20.
    assert row["own_share"] == pytest.approx(0.1)
    assert row["top_other_share"] == pytest.approx(0.9)
    assert row["top_other_unit"] == "b"
    (finding,) = find_misaligned_person(AnalysisContext(data))
    assert finding.severity == pytest.approx(0.8)
    assert "90%" in finding.title and finding.people[0][0] == "a0"


def test_informal_team_lift_by_hand() -> None:
    people = _three_teams()
    events = []
    for unit in "abc":
        events += chatter([p for p, u in people.items() if u == unit])
    events += chatter(["a0", "b0", "c0"], times=5)
    events += [("chat_reply", "a1", "b1"), ("chat_reply", "b1", "c1"), ("chat_reply", "c1", "a1")]
    data = dataset(people, events=events)
    df = informal_teams(data)
    assert df.height == 1
    row = df.row(0, named=True)
    assert row["members"] == ["a0", "b0", "c0"] and row["n_units"] == 3
    # Each cross-unit pair of units: 10 (the group pair) + 1 background tie over 25 pairs.
    density = 11 / 25
    # The collaboration view is scaled to mean edge weight 1: 36 edges weighing 93 in all.
    mean = 93 / 36
    assert row["internal_weight"] == pytest.approx(30.0 / mean)
    assert row["expected_weight"] == pytest.approx(3 * density / mean)
    assert row["lift"] == pytest.approx(30 / (3 * density))
    assert row["density"] == pytest.approx(1.0)
    assert len(find_informal_team(AnalysisContext(data))) == 1


def test_no_informal_team_without_a_dense_cross_unit_group() -> None:
    people = _three_teams()
    events = []
    for unit in "abc":
        events += chatter([p for p, u in people.items() if u == unit], times=2)
    events += [("chat_reply", f"a{i}", f"b{i}") for i in range(5)]
    events += [("chat_reply", f"b{i}", f"c{(i + 1) % 5}") for i in range(5)]
    data = dataset(people, events=events)
    assert informal_teams(data).height == 0
    assert find_informal_team(AnalysisContext(data)) == []


def _lag_dataset(move_day: dt.date) -> object:
    people = {**team_of(4, "a"), **team_of(4, "b"), "x": "b"}
    start = dt.date(2024, 1, 1)
    spans = [(p, u, start, None) for p, u in people.items() if p != "x"]
    spans += [("x", "a", start, move_day), ("x", "b", move_day, None)]
    events = []
    for month in (1, 2, 3, 4):
        ts = dt.datetime(2024, month, 10, tzinfo=dt.UTC)
        for team in ("a", "b"):
            members = [f"{team}{i}" for i in range(4)]
            events += [("chat_reply", s, t, None, None, None, ts) for s in members for t in members
                       if s != t]
        events += [("chat_reply", "x", f"b{i}", None, None, None, ts) for i in range(4)]
    return dataset(people, memberships=spans, events=events)


def test_org_change_lag_by_hand() -> None:
    data = _lag_dataset(dt.date(2024, 4, 1))
    df = org_change_lag(data)
    assert df.height == 1
    row = df.row(0, named=True)
    assert (row["person_id"], row["from_unit"], row["to_unit"]) == ("x", "a", "b")
    assert row["informal_since"] == dt.date(2024, 1, 1)
    assert row["formal_since"] == dt.date(2024, 4, 1)
    assert row["lag_days"] == 91 and row["windows_observed"] == 3
    assert row["mean_share"] == pytest.approx(1.0)
    (f,) = find_org_change_lag(AnalysisContext(data))
    assert f.severity == pytest.approx(91 / 180)
    assert "3 months" in f.title
    # Not raised by the misaligned rule as well (the lag explains it).
    assert find_misaligned_person(AnalysisContext(data)) == []


def test_no_lag_when_the_chart_moves_first() -> None:
    assert org_change_lag(_lag_dataset(dt.date(2024, 1, 15))).height == 0


def test_empty_window_gives_empty_frames_with_columns() -> None:
    data = _lag_dataset(dt.date(2024, 4, 1))
    ctx = AnalysisContext(data, window=Window.of("2030-01-01", "2030-02-01"))
    for fn in (communities, alignment_scores, informal_teams, misaligned_people, org_change_lag):
        df = fn(ctx)
        assert df.height == 0 and df.width > 0, fn.__name__


def test_unit_pair_density_is_the_loop_total_to_the_last_bit() -> None:
    import random

    from orgnet.analysis.alignment import _unit_pair_density

    rng = random.Random(5)
    people = [f"p{i}" for i in range(40)]
    home = {p: f"u{rng.randrange(5)}" for p in people[:-3]}  # three people without a unit
    sizes = {u: sum(1 for v in home.values() if v == u) for u in set(home.values())}
    pairs = {tuple(sorted(rng.sample(people, 2))) for _ in range(500)}
    edges = pl.DataFrame([(a, b, rng.random() / 3) for a, b in sorted(pairs)],
                         schema={"src": pl.String, "dst": pl.String, "weight": pl.Float64},
                         orient="row")
    totals: dict[tuple[str, str], float] = {}
    for s, d, w in edges.iter_rows():
        us, ud = home.get(s), home.get(d)
        if us is None or ud is None or us == ud:
            continue
        key = (us, ud) if us < ud else (ud, us)
        totals[key] = totals.get(key, 0.0) + w
    want = {k: v / (sizes[k[0]] * sizes[k[1]]) for k, v in totals.items()}
    assert _unit_pair_density(edges, home, sizes) == want


def test_planted_informal_teams_are_found_exactly() -> None:
    people = {**team_of(6, "a"), **team_of(6, "b"), **team_of(6, "c"), **team_of(6, "d")}
    events = []
    for unit in "abcd":
        events += chatter([p for p, u in people.items() if u == unit])
    groups = [["a0", "b0", "c0"], ["b3", "c3", "d3", "d4"]]
    for g in groups:
        events += chatter(g, times=5)
        events += [("review_approved", x, y) for x in g for y in g if x != y]
    touches = [(f"k{i}-{p}", p, f"g{i}/file.py") for i, g in enumerate(groups) for p in g]
    events += [("chat_reply", "a1", "d1"), ("chat_reply", "c2", "b2")]
    # As close in chat, but they never review each other or change the same code: not a team.
    events += chatter(["a4", "b4", "c4"], times=6)
    data = dataset(people, events=events, touches=touches)
    df = informal_teams(data)
    assert sorted(df["members"].to_list()) == sorted(sorted(g) for g in groups)


def _reference_moves(m: pl.DataFrame, lo: dt.date, hi: dt.date) -> list[tuple[object, ...]]:
    """The rule spelled out per person: a start inside the window into a unit the person did
    not already hold; ``from_unit`` is the smallest other unit still open that day."""
    out = []
    for pid in sorted(set(m["person_id"])):
        spans = m.filter(pl.col("person_id") == pid).select(
            "person_id", "unit_id", "valid_from", "valid_to").rows()
        for i, (_, unit, start, _end) in enumerate(spans):
            if start is None or not lo <= start < hi:
                continue
            open_then = [u for _, u, _, e in spans[:i] if e is None or e >= start]
            if unit not in open_then:
                out.append((pid, min(open_then) if open_then else None, unit, start))
    return out


@pytest.mark.parametrize("seed", range(20))
def test_formal_moves_follow_the_per_person_rule(seed: int) -> None:
    r = random.Random(seed)
    units = pl.DataFrame({"unit_id": ["org", "t1", "t2", "t3"], "parent_id": [None, "org", "org", "org"],
                          "kind": ["org", "team", "team", "team"]})
    rows = []
    for p in range(r.randint(5, 25)):
        starts: list[dt.date] = []
        for _ in range(r.randint(1, 5)):
            a = dt.date(2024, 1, 1) + dt.timedelta(days=r.randint(0, 700))
            if starts and r.random() < 0.3:  # two spans starting the same day
                a = r.choice(starts)
            starts.append(a)
            b = a + dt.timedelta(days=r.randint(0, 400)) if r.random() < 0.6 else None
            rows.append((f"p{p:02d}", r.choice(["t1", "t2", "t3"]), r.choice(["member", "lead", "former"]),
                         None if r.random() < 0.05 else a, b))
    m = pl.DataFrame(rows, schema={"person_id": pl.String, "unit_id": pl.String, "role": pl.String,
                                   "valid_from": pl.Date, "valid_to": pl.Date}, orient="row")
    lo, hi = dt.datetime(2024, 6, 1), dt.datetime(2025, 6, 1)
    ctx = SimpleNamespace(data=SimpleNamespace(memberships=m, units=units), unit_kind="team",
                          window=SimpleNamespace(since=lo, until=hi))
    # spans starting the same day are taken in unit, then end order
    keep = m.filter(pl.col("role") != "former").sort(
        "person_id", "valid_from", "unit_id", "valid_to", nulls_last=False)
    expected = _reference_moves(keep, lo.date(), hi.date())
    assert expected, "the random chart should contain moves"
    with mock.patch.object(alignment, "_drop_reorgs", lambda _ctx, moves: moves):
        got = alignment._formal_moves(ctx)  # type: ignore[arg-type]
    assert got.rows() == expected
    # the same chart in another row order gives the same moves
    ctx.data.memberships = m.sample(fraction=1.0, shuffle=True, seed=seed)
    with mock.patch.object(alignment, "_drop_reorgs", lambda _ctx, moves: moves):
        again = alignment._formal_moves(ctx)  # type: ignore[arg-type]
    assert again.rows() == expected
