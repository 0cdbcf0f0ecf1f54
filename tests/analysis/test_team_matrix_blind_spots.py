"""Unit matrix, E-I and silos; congruence, blind spots and information droughts by hand."""

from __future__ import annotations

import pytest

from orgnet.analysis._context import AnalysisContext
from orgnet.analysis.blind_spots import (
    find_blind_spot,
    find_information_drought,
    information_droughts,
    one_sided_relationships,
    person_congruence,
    unit_congruence,
)
from orgnet.analysis.team_matrix import ei_index, find_silo, help_balance, unit_pair_matrix
from orgnet.dataset import Window

from .factory import chatter, dataset, team_of

TEAMS = "abcde"


def _five_teams(e_external: bool = False) -> object:
    people: dict[str, str] = {}
    for t in TEAMS:
        people.update(team_of(5, t))
    events = []
    for t in TEAMS:
        events += chatter([f"{t}{i}" for i in range(5)], kind="mention")
    # Teams a-d: members 0 and 1 tie to the same members of every other team among a-d.
    for i, x in enumerate("abcd"):
        for y in "abcd"[i + 1:]:
            events += [("chat_reply", f"{x}{k}", f"{y}{k}") for k in (0, 1)]
    events.append(("chat_reply", "e0", "a4"))
    if e_external:
        events += [("chat_reply", f"e{k}", f"{y}{k}") for k in (1, 2, 3) for y in "bcd"]
    touches = [(f"c{i}", "e0", "lib/x.py") for i in range(3)] + [("c9", "a0", "lib/x.py")]
    touches += [("c10", "e1", "e/own.py"), ("c11", "e2", "e/own.py")]
    return dataset(people, events=events, touches=touches)


def test_ei_index_by_hand_and_silo() -> None:
    data = _five_teams()
    ei = {r["unit_id"]: r for r in ei_index(data).iter_rows(named=True)}
    # Team e: 10 internal ties (all pairs), 1 external (e0-a4).
    assert (ei["e"]["internal_ties"], ei["e"]["external_ties"]) == (10, 1)
    assert ei["e"]["ei"] == pytest.approx((1 - 10) / 11)
    # Team a: 2 ties to each of b, c, d plus e0-a4.
    assert (ei["a"]["internal_ties"], ei["a"]["external_ties"]) == (10, 7)
    # Expectation: p_in = 50/50 internal pairs; p_out = 13 cross ties (6 team pairs x 2, plus
    # e0-a4) / 250 cross pairs.
    p_out = 13 / 250
    e_exp, i_exp = p_out * 5 * 20, 1.0 * 10
    assert ei["a"]["ei_expected"] == pytest.approx((e_exp - i_exp) / (e_exp + i_exp))
    assert ei["e"]["z"] < -2.5 and all(ei[t]["z"] > -1 for t in "abcd")
    # e's co-edits: e0 with a0 on lib/x.py (3 x 1 = 3), e1 with e2 on e/own.py (1).
    assert ei["e"]["coedit_outside_share"] == pytest.approx(3 / 4)
    silos = find_silo(AnalysisContext(data))
    assert [f.units[0][0] for f in silos] == ["e"]


def test_no_silo_when_the_team_talks_outside() -> None:
    assert find_silo(AnalysisContext(_five_teams(e_external=True))) == []


def test_unit_matrix_and_help_balance_by_hand() -> None:
    people = {**team_of(5, "a"), **team_of(5, "b")}
    events = [("review_approved", "b0", "a0"), ("review_approved", "b0", "a1"),
              ("review_approved", "a2", "b1"), ("review_approved", "a3", "a4")]
    data = dataset(people, events=events)
    hb = {r["unit_id"]: r for r in help_balance(data).iter_rows(named=True)}
    assert (hb["b"]["reviews_given_out"], hb["b"]["reviews_received_from_out"]) == (2.0, 1.0)
    assert (hb["a"]["reviews_given_out"], hb["a"]["reviews_inside"]) == (1.0, 1.0)
    assert hb["b"]["help_ratio"] == pytest.approx(2.0)
    um = unit_pair_matrix(data, view="review")
    cell = um.filter((um["src_unit"] == "a") & (um["dst_unit"] == "b")).row(0, named=True)
    assert cell["weight"] == 2.0 and cell["weight_per_pair"] == pytest.approx(2 / 25)


def _blind_spot_org(talk_ab: bool) -> object:
    people = {**team_of(5, "a"), **team_of(5, "b"), **team_of(5, "c")}
    touches = [("k1", "a0", "f1"), ("k2", "b0", "f1"), ("k3", "a1", "f2"), ("k4", "b1", "f2"),
               ("k5", "a2", "f3"), ("k6", "c0", "f3")]
    events = [("chat_reply", "a2", "c0")]
    if talk_ab:
        events += [("chat_reply", "a0", "b0"), ("review_approved", "b1", "a1")]
    return dataset(people, events=events, touches=touches)


def test_congruence_by_hand() -> None:
    cong = {(r["unit_a"], r["unit_b"]): r for r in unit_congruence(_blind_spot_org(False))
            .iter_rows(named=True)}
    ab, ac = cong[("a", "b")], cong[("a", "c")]
    assert (ab["need"], ab["met_need"], ab["congruence"], ab["shared_files"]) == (2.0, 0.0, 0.0, 2)
    assert (ac["need"], ac["met_need"], ac["congruence"]) == (1.0, 1.0, 1.0)
    assert ab["need_quantile"] == 1.0 and ac["need_quantile"] == 0.0
    (f,) = find_blind_spot(AnalysisContext(_blind_spot_org(False)))
    assert f.kind == "blind_spot" and {u for u, _ in f.units} == {"a", "b"}
    assert f.severity == pytest.approx(1.0)
    assert f.evidence["org_congruence"] == pytest.approx(1 / 3)
    assert find_blind_spot(AnalysisContext(_blind_spot_org(True))) == []
    pc = {r["person_id"]: r for r in person_congruence(_blind_spot_org(False)).iter_rows(named=True)}
    assert (pc["a2"]["partners"], pc["a2"]["tied_partners"], pc["a0"]["tied_partners"]) == (1, 1, 0)


def test_one_sided_relationship_by_hand() -> None:
    units = {"o": ("Org", None, "department"), "x1": ("X1", "o", "team"),
             "x2": ("X2", "o", "team"), "t": ("T", None, "team")}
    people = {**team_of(5, "t"), **team_of(5, "x1", "p"), **team_of(5, "x2", "q")}
    touches = [("k1", "t0", "f1"), ("k2", "p0", "f1"), ("k3", "t1", "f2"), ("k4", "q0", "f2"),
               ("k5", "t2", "f3"), ("k6", "q1", "f3")]
    events = [("chat_reply", f"t{i}", f"p{i}") for i in range(5)]
    data = dataset(people, units=units, events=events, touches=touches)
    (row,) = one_sided_relationships(data).iter_rows(named=True)
    assert (row["unit_id"], row["parent_id"], row["favoured_unit"], row["neglected_unit"]) == (
        "t", "o", "x1", "x2")
    assert row["favoured_tie_share"] == 1.0
    assert row["neglected_need_share"] == pytest.approx(2 / 3)
    # The neglected pair (t, x2) is also the organisation's largest dependency without contact:
    # it is reported once, as that.
    findings = find_blind_spot(AnalysisContext(data))
    assert [(f.evidence["type"], {u for u, _ in f.units}) for f in findings] == [
        ("dependency_without_contact", {"t", "x2"})]


def test_information_drought_by_hand() -> None:
    people = {**team_of(5, "a"), **team_of(5, "b"), **team_of(5, "c")}
    msgs = [("chat_message", who, None, None, "#pay-talk") for who in ("a0", "a1", "c0") * 4]
    refs = [("reference", "a0", None, None, "#pay-talk", "path:services/pay/api.py"),
            ("reference", "c0", None, None, "#pay-talk", "path:services/pay/db.py")]
    own = [("/services/pay/", "@acme/b", "b")]
    data = dataset(people, events=msgs + refs, ownership=own)
    (row,) = information_droughts(data).iter_rows(named=True)
    assert (row["conversation"], row["owning_unit"], row["messages"], row["participants"],
            row["references"]) == ("test:#pay-talk", "b", 12, 3, 2)
    assert row["participant_units"] == ["a", "c"]
    (f,) = find_information_drought(AnalysisContext(data))
    assert "without anyone from B" in f.title
    # One message from a member of b ends the drought.
    data2 = dataset(people, events=[*msgs, *refs, ("chat_message", "b3", None, None, "#pay-talk")],
                    ownership=own)
    assert information_droughts(data2).height == 0


def test_empty_window() -> None:
    ctx = AnalysisContext(_five_teams(), window=Window.of("2030-01-01", "2030-02-01"))
    for fn in (ei_index, help_balance, unit_pair_matrix, unit_congruence, person_congruence,
               one_sided_relationships, information_droughts):
        df = fn(ctx)
        assert df.width > 0 and df.height == 0, fn.__name__
