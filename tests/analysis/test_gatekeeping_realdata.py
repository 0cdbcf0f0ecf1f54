"""Gatekeeping on real public data (../shared/realdata): Xen's Acked-by gate and cargo's bors reviewers.

Every literal was computed independently of orgnet with a few lines of plain Python:

* Xen, from ``xen/commits.jsonl.gz``: trailer keys case-folded, one count per (commit, key,
  person name lower-cased). ``Acked-by`` total 3,311; Jan Beulich 1,036, then Andrew Cooper,
  Julien Grall, Stefano Stabellini, Roger Pau Monné. ``Reviewed-by`` + ``Acked-by`` total
  7,874, Jan Beulich 2,049 of them. Every such commit touches a file, and MAINTAINERS ``THE
  REST`` (``F: *``) covers every file, so that section holds all 7,874 approvals.
* cargo, from ``cargo-rust-team/bors_merges.tsv``: 2,135 bors merges name 2,136 ``r=``
  reviewers; weihanglo 851, epage 693, ehuss 342: 1,886 / 2,136 = 88.3%.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from orgnet.analysis import AnalysisContext
from orgnet.analysis.gatekeeping import approval_concentration, find_gatekeeper, gate_share
from orgnet.dataset import Dataset
from orgnet.importers.git import import_git
from orgnet.importers.orgchart import import_orgchart
from orgnet.importers.owners import import_owners
from orgnet.ingest import ingest
from orgnet.workspace import Workspace
from tests.conftest import REALDATA

pytestmark = pytest.mark.realdata


def _require() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real data not found at {REALDATA} (clone the project with ../shared beside it)")
    return REALDATA


@pytest.fixture(scope="module")
def xen(tmp_path_factory: pytest.TempPathFactory) -> AnalysisContext:
    root = _require() / "xen"
    ws = Workspace(tmp_path_factory.mktemp("xen") / "ws")
    ingest(ws, import_git(root / "commits.gitlog.gz", repo_name="xen"))
    ingest(ws, import_owners(root / "MAINTAINERS.end.txt.gz", kind="maintainers", container="xen"))
    return AnalysisContext(Dataset.from_workspace(ws), unit_kind="maintainer_section")


@pytest.fixture(scope="module")
def cargo(tmp_path_factory: pytest.TempPathFactory) -> AnalysisContext:
    root = _require() / "cargo-rust-team"
    ws = Workspace(tmp_path_factory.mktemp("cargo") / "ws")
    ingest(ws, import_orgchart(root / "rust_team_end.team_members.tsv",
                               people=root / "rust_team_end.people.tsv",
                               units=root / "rust_team_end.teams.tsv"))
    ingest(ws, import_git(root / "commits.gitlog.gz", repo_name="rust-lang/cargo", review_pattern="bors"))
    return AnalysisContext(Dataset.from_workspace(ws))


def _named(ctx: AnalysisContext, frame: pl.DataFrame) -> pl.DataFrame:
    names = ctx.data.people.select("person_id", "display_name")
    return frame.join(names, on="person_id", how="left", maintain_order="left")


def test_xen_acked_by_givers_top_gate_share(xen: AnalysisContext) -> None:
    gs = _named(xen, gate_share(xen))
    assert gs["area_gate_events"].unique().to_list() == [3311]
    top = gs.sort("rank").head(5)
    assert top["display_name"].to_list() == ["Jan Beulich", "Andrew Cooper", "Julien Grall",
                                             "Stefano Stabellini", "Roger Pau Monné"]
    assert top["rank"].to_list() == [1, 2, 3, 4, 5]
    jan = top.row(0, named=True)
    assert jan["gate_events"] == 1036
    assert jan["share"] == pytest.approx(1036 / 3311)


def test_xen_approval_concentration_per_maintainer_section(xen: AnalysisContext) -> None:
    ac = approval_concentration(xen, by="owner")
    assert ac.height > 30                                   # reported for many sections
    assert ac["area_id"].str.starts_with("maint:xen:").all()
    rest = ac.filter(pl.col("area_id") == "maint:xen:the-rest").row(0, named=True)
    assert rest["approvals"] == 7874 and rest["trailer_approvals"] == 7874
    names = dict(xen.data.people.select("person_id", "display_name").iter_rows())
    assert names[rest["top_approver"]] == "Jan Beulich"
    assert rest["top_approvals"] == 2049
    assert rest["top_share"] == pytest.approx(2049 / 7874)
    assert rest["bus_factor"] >= 2


def test_xen_gatekeeper_uses_fallback(xen: AnalysisContext) -> None:
    # Trailer data has no review latencies: any gatekeeper finding must be the labelled fallback.
    for f in find_gatekeeper(xen):
        assert f.evidence["method"] == "fallback_gate_share"


def test_cargo_three_reviewers_hold_most_approvals(cargo: AnalysisContext) -> None:
    gs = _named(cargo, gate_share(cargo)).sort("rank")
    assert gs["area_gate_events"].unique().to_list() == [2136]
    top3 = gs.head(3)
    assert top3["display_name"].to_list() == ["Weihang Lo", "Ed Page", "Eric Huss"]
    assert top3["gate_events"].to_list() == [851, 693, 342]
    assert top3["share"].sum() >= 0.85
    assert top3["share"].sum() == pytest.approx(1886 / 2136)
    ac = approval_concentration(cargo, by="container").row(0, named=True)
    assert (ac["area_id"], ac["approvals"], ac["top_approvals"]) == ("rust-lang/cargo", 2136, 851)
    assert ac["bus_factor"] == 2
