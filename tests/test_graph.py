"""Graph views on a tiny hand-checkable organisation."""

from __future__ import annotations

import datetime as dt

import networkx as nx
import polars as pl
import pytest

from orgnet.dataset import Dataset, Window
from orgnet.graph import GraphOptions, build_view, membership_at, unit_ancestors, unit_matrix
from orgnet.importers._base import Identity, ImportBuilder
from orgnet.ingest import ingest
from orgnet.schema import conform
from orgnet.workspace import Workspace

T0 = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)


def _dataset(ws: Workspace) -> Dataset:
    b = ImportBuilder("github", "prs.jsonl")
    ids = {p: b.identity(Identity("github", p, username=p, name=f"{p.title()} X"))
           for p in ("ana", "bo", "cy", "dee")}
    bot = b.identity(Identity("github", "ci", username="ci-bot", is_bot=True))
    b.begin(line=1)
    # Two reviews of ana's change by bo, one by cy; a bot approval; a self-review.
    for i, (reviewer, kind) in enumerate([("bo", "review_approved"), ("bo", "review_commented"),
                                          ("cy", "review_changes_requested")]):
        b.event(kind, ids[reviewer], target_id=ids["ana"], ts=T0, artifact_id="github:r#1",
                raw_ref=("review", str(i)))
    b.event("review_approved", bot, target_id=ids["ana"], ts=T0, artifact_id="github:r#1",
            raw_ref=("review", "bot"))
    b.event("review_commented", ids["ana"], target_id=ids["ana"], ts=T0, artifact_id="github:r#1",
            raw_ref=("review", "self"))
    # A thread with three participants (k=3: each pair 1/2), and one mention ana -> dee.
    for i, who in enumerate(("ana", "bo", "cy")):
        b.event("comment", ids[who], ts=T0, artifact_id="github:r#2", raw_ref=("c", str(i)))
    b.event("mention", ids["ana"], target_id=ids["dee"], ts=T0, raw_ref=("m", "1"))
    # An old review outside the window.
    b.event("review_approved", ids["dee"], target_id=ids["ana"], ts=T0 - dt.timedelta(days=400),
            artifact_id="github:r#0", raw_ref=("review", "old"))
    # Co-edits: ana and bo both touch a.py (2 and 1 changes); a mass change of 60 files by cy and dee.
    for art, who, path in (("c1", "ana", "a.py"), ("c2", "ana", "a.py"), ("c3", "bo", "a.py")):
        b.add("touches", artifact_id=art, actor_id=ids[who], path=path, ts=T0)
    for i in range(60):
        b.add("touches", artifact_id="big", actor_id=ids["cy"], path=f"v/{i}.c", ts=T0)
        b.add("touches", artifact_id="big2", actor_id=ids["dee"], path=f"v/{i}.c", ts=T0)
    ingest(ws, b.finish(), sha256="x")
    units = conform("units", pl.DataFrame({
        "unit_id": ["org", "org/a", "org/b"], "name": ["Org", "A", "B"],
        "parent_id": [None, "org", "org"], "kind": ["department", "team", "team"],
        "source": ["hris"] * 3}))
    people = {r[0]: r[1] for r in ws.read("identities").select("username", "person_id").rows()}
    mem = conform("memberships", pl.DataFrame({
        "person_id": [people["ana"], people["bo"], people["cy"], people["dee"], people["dee"]],
        "unit_id": ["org/a", "org/a", "org/b", "org/b", "org/a"],
        "role": ["member"] * 5,
        "valid_from": [dt.date(2024, 1, 1)] * 4 + [dt.date(2024, 6, 1)],
        "valid_to": [None, None, None, dt.date(2024, 6, 1), None],
        "precision": ["day"] * 5, "source": ["hris"] * 5}))
    with ws.transaction() as tx:
        tx.replace("units", units)
        tx.replace("memberships", mem)
    data = Dataset.from_workspace(ws)
    data.people = data.people.with_columns(
        pl.col("person_id").replace_strict(
            {v: k for k, v in people.items() if k}, default=pl.col("person_id")).alias("person_id"))
    return data


@pytest.fixture
def data(workspace: Workspace) -> Dataset:
    d = _dataset(workspace)
    # Relabel people by username so the assertions read naturally.
    names = dict(d.identities.select("person_id", "username").drop_nulls().rows())
    d.identities = d.identities.with_columns(
        pl.col("person_id").replace_strict(names, default=pl.col("person_id")))
    d.memberships = d.memberships.with_columns(
        pl.col("person_id").replace_strict(names, default=pl.col("person_id")))
    d.people = d.people.with_columns(
        pl.col("person_id").replace_strict(names, default=pl.col("person_id")))
    return d


WINDOW = GraphOptions(window=Window.of("2024-01-01", "2025-01-01"))


def _edges(g: object) -> dict[tuple[str, str], float]:
    return {(s, d): round(w, 6) for s, d, w in g.edges.rows()}  # type: ignore[attr-defined]


def test_review_view_is_author_to_reviewer_without_bots_self_or_old_events(data: Dataset) -> None:
    g = build_view(data, "review", WINDOW)
    assert g.directed
    assert _edges(g) == {("ana", "bo"): 2.0, ("ana", "cy"): 1.0}
    assert "ci" not in g.nodes
    everything = build_view(data, "review", GraphOptions())
    assert _edges(everything)[("ana", "dee")] == 1.0


def test_communication_view_has_direct_edges_and_newman_thread_weights(data: Dataset) -> None:
    g = build_view(data, "communication", WINDOW)
    e = _edges(g)
    assert e[("ana", "dee")] == 0.5  # a mention weighs 0.5
    for a, b in (("bo", "cy"), ("cy", "ana"), ("cy", "bo")):
        assert e[(a, b)] == 0.5  # thread of k=3 -> 1/(k-1)
    # ana and bo also share the review thread of change 1 (k=2 -> 1).
    assert e[("ana", "bo")] == e[("bo", "ana")] == 1.5


def test_coedit_view_caps_mass_changes(data: Dataset) -> None:
    e = _edges(build_view(data, "coedit", WINDOW))
    assert e[("ana", "bo")] == 2.0  # TA[ana,a.py]=2, TA[bo,a.py]=1
    assert e[("cy", "dee")] == round(60 * (30 / 60) ** 2, 6)  # 60 files each weighted 0.5


def test_sparse_and_networkx_agree(data: Dataset) -> None:
    g = build_view(data, "collaboration", WINDOW)
    mat, names = g.to_sparse()
    assert names == list(g.nodes) == sorted(g.nodes)
    assert (mat != mat.T).nnz == 0
    nxg = g.to_networkx()
    assert isinstance(nxg, nx.Graph) and not nxg.is_directed()
    i, j = names.index("ana"), names.index("bo")
    assert mat[i, j] == pytest.approx(nxg["ana"]["bo"]["weight"])
    assert set(nxg.nodes) == set(names)


def test_membership_at_dates_and_levels(data: Dataset) -> None:
    before = membership_at(data.memberships, data.units, at=dt.date(2024, 3, 1))
    after = membership_at(data.memberships, data.units, at=dt.date(2024, 7, 1))
    assert dict(before.select("person_id", "unit_id").rows())["dee"] == "org/b"
    assert dict(after.select("person_id", "unit_id").rows())["dee"] == "org/a"
    dept = membership_at(data.memberships, data.units, at=dt.date(2024, 3, 1),
                         unit_kind="department")
    assert set(dept["unit_id"]) == {"org"} and dept.height == 4
    anc = unit_ancestors(data.units)
    assert anc.filter(pl.col("unit_id") == "org/a")["ancestor_id"].to_list() == ["org/a", "org"]


def test_unit_matrix_aggregates_people_to_units(data: Dataset) -> None:
    g = build_view(data, "review", WINDOW)
    m = membership_at(data.memberships, data.units, at=dt.date(2024, 3, 1))
    um = {(s, d): w for s, d, w in unit_matrix(g, m).rows()}
    assert um == {("org/a", "org/a"): 2.0, ("org/a", "org/b"): 1.0}
