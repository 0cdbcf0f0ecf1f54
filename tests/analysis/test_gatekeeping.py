"""Approval concentration, gate share, outsider friction and their findings."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import numpy as np
import polars as pl
import pytest

from orgnet.analysis import AnalysisContext
from orgnet.analysis.gatekeeping import (
    APPROVAL_CONCENTRATION_SCHEMA,
    GATE_SHARE_SCHEMA,
    OUTSIDER_FRICTION_SCHEMA,
    approval_concentration,
    benjamini_hochberg,
    find_gatekeeper,
    find_review_bottleneck,
    gate_share,
    outsider_friction,
)
from orgnet.dataset import Window
from orgnet.schema import conform
from tests.analysis.test_brokerage import T0, make_dataset

UNITS: dict[str, str | None] = {"ana": "pay", "bo": "pay", "cy": "pay", "dee": "web", "eve": "web",
                                "fay": "web", "gus": None}


def _approvals_dataset():  # type: ignore[no-untyped-def]
    # Approvals of changes by pay authors (ana, bo) and web authors (dee, eve):
    #   pay-authored: ana approves 4 (of bo's), cy approves 1 (of bo's), bo approves 1 (of ana's)
    #   web-authored: fay approves 2 (of dee's), eve approves 1 (of dee's), dee approves 1 (of eve's)
    #   gus (no unit) authored one change approved by ana: no author unit -> left out by unit.
    # One review_commented by cy (a possible reviewer), nothing from fay besides approvals.
    ev: list[tuple[Any, ...]] = []
    for i in range(4):
        ev.append(("review_approved", "ana", "bo", f"c{i}"))
    ev += [("review_approved", "cy", "bo", "c4"), ("review_approved", "bo", "ana", "c5"),
           ("review_approved", "fay", "dee", "c6"), ("review_approved", "fay", "dee", "c7"),
           ("review_approved", "eve", "dee", "c8"), ("review_approved", "dee", "eve", "c9"),
           ("review_approved", "ana", "gus", "c10"), ("review_commented", "cy", "ana", "c5")]
    return make_dataset(UNITS, ev)


def test_approval_concentration_by_unit() -> None:
    ac = approval_concentration(_approvals_dataset())
    assert ac["area_id"].to_list() == ["pay", "web"]
    pay = ac.row(0, named=True)
    # pay: ana 4, cy 1, bo 1 of 6 -> top share 4/6, HHI (16 + 1 + 1)/36 = 0.5, bus factor 1
    # (ana alone covers >= 50%); possible reviewers: ana, bo, cy all reviewed something.
    assert (pay["approvals"], pay["approvers"], pay["top_approver"], pay["top_approvals"]) == (6, 3, "ana", 4)
    assert pay["top_share"] == pytest.approx(4 / 6)
    assert pay["hhi"] == pytest.approx(0.5)
    assert (pay["bus_factor"], pay["possible_reviewers"], pay["trailer_approvals"]) == (1, 3, 0)
    web = ac.row(1, named=True)
    # web: fay 2, eve 1, dee 1 of 4 -> top 0.5, HHI (4+1+1)/16, bus factor 1 (fay covers 50%).
    assert (web["approvals"], web["top_approver"], web["bus_factor"]) == (4, "fay", 1)
    assert web["hhi"] == pytest.approx(6 / 16)
    assert ac.schema == pl.Schema(APPROVAL_CONCENTRATION_SCHEMA)


def test_bus_factor_two_and_container_areas() -> None:
    ev = [("review_approved", r, "dee", f"c{i}") for i, r in enumerate(["ana"] * 4 + ["bo"] * 3 + ["cy"] * 3)]
    ac = approval_concentration(make_dataset(UNITS, ev))
    # 4/10 < 50%, 4+3 = 7/10 >= 50% -> two people.
    assert ac.filter(pl.col("area_id") == "web")["bus_factor"].item() == 2
    by_repo = approval_concentration(make_dataset(UNITS, ev), by="container")
    row = by_repo.row(0)
    assert row[:6] == ("repo", "container", 10, 3, "ana", 4)
    assert row[6:8] == pytest.approx((0.4, (16 + 9 + 9) / 100))
    assert row[8:] == (2, 3, 0)


def test_trailers_count_only_without_explicit_approvals() -> None:
    ev = [("commit_trailer", "ana", "bo", "git:a@1", T0, "Acked-by", "a"),
          ("commit_trailer", "cy", "bo", "git:a@2", T0, "Reviewed-by", "a"),
          ("commit_trailer", "cy", "bo", "git:a@2", T0, "Signed-off-by", "a"),
          ("commit_trailer", "ana", "bo", "git:b@1", T0, "Acked-by", "b"),
          ("review_approved", "bo", "ana", "gh:b#1", T0, None, "b")]
    data = make_dataset(UNITS, ev)
    ac = approval_concentration(data, by="container")
    # a: two trailer approvals (Signed-off-by is not one); b has an explicit approval, so its
    # Acked-by is not counted as an approval.
    assert dict(ac.select("area_id", "approvals").iter_rows()) == {"a": 2, "b": 1}
    assert dict(ac.select("area_id", "trailer_approvals").iter_rows()) == {"a": 2, "b": 0}
    # Gate share: approvals and Acked-by everywhere (3 gate events: ana 2, bo 1), never Reviewed-by.
    gs = gate_share(data)
    assert gs.select("person_id", "gate_events", "rank").rows() == [("ana", 2, 1), ("bo", 1, 2)]
    assert gs["share"].to_list() == pytest.approx([2 / 3, 1 / 3])
    assert gs.schema == pl.Schema(GATE_SHARE_SCHEMA)


def test_owner_areas_from_ownership_rules() -> None:
    ownership = conform("ownership", pl.DataFrame({
        "rule_id": ["r1", "r2"], "source": ["maintainers"] * 2, "source_file": ["MAINTAINERS"] * 2,
        "rule_order": [1, 2], "pattern": ["pay/", "web/"], "negate": [False, False],
        "role": ["maintainer"] * 2, "owner_unit_id": ["pay", "web"]}))
    ev = [("commit_trailer", "ana", "dee", "git:repo@1", T0, "Acked-by"),
          ("commit_trailer", "fay", "dee", "git:repo@2", T0, "Acked-by")]
    touches = [{"artifact_id": "git:repo@1", "path": "pay/x.c"},
               {"artifact_id": "git:repo@1", "path": "web/y.c"},
               {"artifact_id": "git:repo@2", "path": "web/z.c"}]
    artifacts = [{"artifact_id": "git:repo@1", "kind": "commit", "source": "git", "container": "repo"},
                 {"artifact_id": "git:repo@2", "kind": "commit", "source": "git", "container": "repo"}]
    data = make_dataset(UNITS, ev, ownership=ownership, touches=touches, artifacts=artifacts)
    ac = approval_concentration(data, by="owner")
    # Commit 1 touches both areas: its ack counts once in each.
    assert dict(ac.select("area_id", "approvals").iter_rows()) == {"pay": 1, "web": 2}
    gs = gate_share(data, by="owner")
    assert gs.filter(pl.col("area_id") == "web").select("person_id", "share").rows() == [
        ("ana", 0.5), ("fay", 0.5)]


def test_review_bottleneck_raised_and_not() -> None:
    # pay: ana approves 18 of 24 changes; bo and cy approve 3 each (3 possible reviewers).
    people = {f"x{i}": "pay" for i in range(3)} | {"ana": "pay", "bo": "pay", "cy": "pay"}
    ev = [("review_approved", "ana", "x0", f"c{i}") for i in range(18)]
    ev += [("review_approved", r, "x1", f"d{r}{i}") for r in ("bo", "cy") for i in range(3)]
    ctx = AnalysisContext(make_dataset(people, ev))
    found = find_review_bottleneck(ctx)
    assert len(found) == 1
    f = found[0]
    assert f.people[0][0] == "ana" and f.units[0][0] == "pay"
    assert f.evidence["top_share"] == pytest.approx(0.75) and f.evidence["approvals"] == 24
    assert "75%" in f.title and "24" in f.title
    # severity = (0.4 + 0.6 * 0.25 / 0.5) * (1 - exp(-24/40))
    assert f.severity == pytest.approx(0.7 * (1 - np.exp(-0.6)))
    # Balanced approvals: no finding; too few approvals: no finding.
    even = [("review_approved", r, "x0", f"e{r}{i}") for r in ("ana", "bo", "cy") for i in range(8)]
    assert find_review_bottleneck(AnalysisContext(make_dataset(people, even))) == []
    assert find_review_bottleneck(AnalysisContext(make_dataset(people, ev[:10]))) == []


def test_review_bottleneck_respects_privacy_threshold() -> None:
    people = {"ana": "pay", "bo": "pay", "cy": "pay", "x0": "pay"}   # 4 < 5 members
    ev = [("review_approved", "ana", "x0", f"c{i}") for i in range(30)]
    ev += [("review_commented", r, "x0", "c0") for r in ("bo", "cy")]
    assert find_review_bottleneck(AnalysisContext(make_dataset(people, ev))) == []


def _friction_dataset(*, planted: bool, seed: int = 3):  # type: ignore[no-untyped-def]
    """rev (team core) reviews 30 changes from core authors and 30 from outside authors.

    Planted: outsiders wait ~10x longer and get changes requested half of the time.
    """
    rng = random.Random(seed)
    units: dict[str, str | None] = {"rev": "core", "in1": "core", "in2": "core", "in3": "core",
                                    "in4": "core", "out1": "edge", "out2": "edge", "out3": "edge",
                                    "out4": "edge", "out5": "edge"}
    ev: list[tuple[Any, ...]] = []
    arts: list[dict[str, Any]] = []
    for i in range(60):
        outside = i % 2 == 0
        author = f"out{i % 5 + 1}" if outside else f"in{i % 4 + 1}"
        aid = f"gh:r#{i}"
        opened = T0 + dt.timedelta(days=i)
        hours = rng.uniform(2, 6) * (10 if outside and planted else 1)
        ask = planted and outside and i % 4 == 0
        abandoned = planted and outside and i % 6 == 0
        arts.append({"artifact_id": aid, "kind": "pull_request", "source": "github", "container": "r",
                     "author_id": author, "opened_at": opened, "merged": not abandoned,
                     "outcome": "abandoned" if abandoned else "merged"})
        kind = "review_changes_requested" if ask else "review_approved"
        ev.append((kind, "rev", author, aid, opened + dt.timedelta(hours=hours)))
        ev.append(("review_commented", "rev", author, aid, opened + dt.timedelta(hours=hours + 1)))
    return make_dataset(units, ev, artifacts=arts)


def test_outsider_friction_numbers() -> None:
    fr = outsider_friction(_friction_dataset(planted=True))
    row = fr.filter(pl.col("person_id") == "rev").row(0, named=True)
    assert (row["n_outside"], row["n_inside"]) == (30, 30)
    assert (row["n_latency_outside"], row["n_latency_inside"]) == (30, 30)
    assert row["latency_ratio"] == pytest.approx(row["median_hours_outside"] / row["median_hours_inside"])
    assert row["latency_ratio"] > 5
    # changes requested on i % 4 == 0 (i even): 15 of the 30 outside changes; none inside.
    assert row["changes_requested_rate_outside"] == pytest.approx(0.5)
    assert row["changes_requested_rate_inside"] == 0.0
    assert row["changes_requested_diff"] == pytest.approx(0.5)
    # abandoned on i % 6 == 0: 10 of 30 outside.
    assert row["abandoned_rate_outside"] == pytest.approx(1 / 3)
    assert row["p_latency"] < 1e-6 and row["q_latency"] == pytest.approx(row["p_latency"])
    assert fr.schema == pl.Schema(OUTSIDER_FRICTION_SCHEMA)


def test_gatekeeper_planted_and_absent() -> None:
    found = find_gatekeeper(AnalysisContext(_friction_dataset(planted=True)))
    assert [f.people[0][0] for f in found] == ["rev"]
    f = found[0]
    assert f.evidence["method"] == "outsider_friction"
    assert "longer" in f.title and "requests changes on 50%" in f.title
    assert 0.3 <= f.severity <= 1.0
    assert find_gatekeeper(AnalysisContext(_friction_dataset(planted=False))) == []


def test_gatekeeper_fallback_on_trailer_data() -> None:
    # Trailer-only data: jan acks 40 of 50 changes of authors outside his unit (web -> pay).
    units: dict[str, str | None] = {"jan": "pay", "p1": "pay", "p2": "pay", "w1": "web", "w2": "web",
                                    "w3": "web"}
    ev: list[tuple[Any, ...]] = []
    for i in range(40):
        author = f"w{i % 3 + 1}"
        ev.append(("commit_trailer", "jan", author, f"git:x@{i}", T0, "Acked-by"))
        ev.append(("mention", "jan", f"p{i % 2 + 1}"))
    for i in range(10):
        ev.append(("commit_trailer", "p1", "w1", f"git:x@b{i}", T0, "Acked-by"))
    found = find_gatekeeper(AnalysisContext(make_dataset(units, ev)))
    assert [f.people[0][0] for f in found] == ["jan"]
    ev0 = found[0].evidence
    assert ev0["method"] == "fallback_gate_share" and "no review timestamps" in ev0["reason"]
    assert ev0["share"] == pytest.approx(0.8) and ev0["all_gate_events"] == 50
    assert found[0].severity <= 0.9
    # Below the minimum number of gate events: nothing.
    assert find_gatekeeper(AnalysisContext(make_dataset(units, ev[:20]))) == []


def test_benjamini_hochberg() -> None:
    q = benjamini_hochberg([0.01, 0.04, None, 0.03, 0.5])
    # sorted p: 0.01, 0.03, 0.04, 0.5 (m = 4) -> 0.04, 0.0533, 0.0533, 0.5
    assert q[0] == pytest.approx(0.04)
    assert q[1] == pytest.approx(0.04 * 4 / 3)
    assert q[3] == pytest.approx(0.04 * 4 / 3)
    assert np.isnan(q[2]) and q[4] == pytest.approx(0.5)


def test_empty_window() -> None:
    data = _approvals_dataset()
    later = Window.of("2030-01-01")
    for frame, schema in ((approval_concentration(data, window=later), APPROVAL_CONCENTRATION_SCHEMA),
                          (gate_share(data, window=later), GATE_SHARE_SCHEMA),
                          (outsider_friction(data, window=later), OUTSIDER_FRICTION_SCHEMA),
                          (approval_concentration(make_dataset({}, [])), APPROVAL_CONCENTRATION_SCHEMA)):
        assert frame.height == 0 and frame.schema == pl.Schema(schema)
    ctx = AnalysisContext(data, window=later)
    assert find_gatekeeper(ctx) == [] and find_review_bottleneck(ctx) == []


def test_deterministic_and_order_independent() -> None:
    a = _friction_dataset(planted=True)
    b = _friction_dataset(planted=True)
    b.interactions = b.interactions.collect().reverse().lazy()
    b.artifacts = b.artifacts.reverse()
    assert outsider_friction(a).equals(outsider_friction(b))
    assert approval_concentration(a, by="container").equals(approval_concentration(b, by="container"))
    assert gate_share(a).equals(gate_share(b))


def test_outsider_friction_small_samples_and_one_sided_latencies() -> None:
    """Samples of 8 or fewer latencies get scipy's own test; a reviewer whose latencies are
    all on one side gets none (``min_changes=0`` tests every reviewer)."""
    from scipy.stats import mannwhitneyu

    units: dict[str, str | None] = {"rev": "core", "rev2": "core", "in1": "core",
                                    "out1": "edge"}
    ev: list[tuple[Any, ...]] = []
    arts: list[dict[str, Any]] = []
    hours = {"out": [30.0, 12.5, 44.0, 20.0], "in": [2.0, 3.5, 1.0, 12.5]}
    for side, author in (("out", "out1"), ("in", "in1")):
        for i, h in enumerate(hours[side]):
            opened = T0 + dt.timedelta(days=i)
            aid = f"gh:r#{side}{i}"
            arts.append({"artifact_id": aid, "kind": "pull_request", "source": "github",
                         "container": "r", "author_id": author, "opened_at": opened,
                         "merged": True, "outcome": "merged"})
            ev.append(("review_approved", "rev", author, aid, opened + dt.timedelta(hours=h)))
            # rev2 reviews the same changes, but only the inside ones have an opening time
            bid = f"gh:r#b{side}{i}"
            arts.append({**arts[-1], "artifact_id": bid,
                         "opened_at": opened if side == "in" else None})
            ev.append(("review_approved", "rev2", author, bid, opened + dt.timedelta(hours=h)))
    data = make_dataset(units, ev, artifacts=arts)
    fr = outsider_friction(data, min_changes=0).sort("person_id")
    rev, rev2 = fr.row(0, named=True), fr.row(1, named=True)
    assert rev["person_id"] == "rev" and rev2["person_id"] == "rev2"
    want = mannwhitneyu(hours["out"], hours["in"], alternative="two-sided").pvalue
    assert rev["p_latency"] == want
    assert (rev2["n_latency_outside"], rev2["n_latency_inside"]) == (0, 4)
    assert rev2["p_latency"] is None and rev2["p_changes_requested"] is not None
