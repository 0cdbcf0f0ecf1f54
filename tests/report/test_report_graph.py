"""The report's collaboration graph (GEXF/GraphML): deferred until a graph file is written, and
the same graph as the report built before it was deferred."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import networkx as nx
import polars as pl
import pytest

from orgnet.analysis._context import AnalysisContext
from orgnet.analysis.gatekeeping import _review_pairs
from orgnet.analysis.registry import run_analyses
from orgnet.graph.build import Graph
from orgnet.report import build_report, render_report
from orgnet.report.build import _graph_builder
from tests.report._tiny import tiny_org


def _edge_by_edge(ctx: AnalysisContext, raw: Mapping[str, pl.DataFrame]) -> nx.Graph:
    """The report graph as it was built before it was deferred, straight from the context."""
    g = ctx.graph("collaboration")
    home = ctx.home_unit()
    community = dict(raw["communities"].select("person_id", "community").iter_rows())
    pagerank = dict(raw["influence"].select("person_id", "pagerank").iter_rows())
    out = nx.Graph()
    for pid in sorted(g.nodes):
        out.add_node(pid, label=pid, name=pid, unit=str(home.get(pid)),
                     unit_id=home.get(pid) or "", community=community.get(pid) or "",
                     pagerank=float(f"{float(pagerank.get(pid) or 0.0):.9g}"))
    for src, dst, w in g.edges.sort("src", "dst").iter_rows():
        a, b = sorted((src, dst))
        if out.has_edge(a, b):
            out[a][b]["weight"] = round(out[a][b]["weight"] + float(w), 6)
        else:
            out.add_edge(a, b, weight=round(float(w), 6))
    return out


@pytest.fixture(scope="module")
def analysed() -> tuple[AnalysisContext, Mapping[str, pl.DataFrame]]:
    ctx = AnalysisContext(tiny_org())
    return ctx, run_analyses(ctx).frames


def _same(a: nx.Graph, b: nx.Graph) -> None:
    assert list(a.nodes(data=True)) == list(b.nodes(data=True))
    assert list(a.edges(data=True)) == list(b.edges(data=True))  # order too: GEXF follows it


def test_report_graph_as_edge_by_edge(analysed: tuple[AnalysisContext, Mapping[str, pl.DataFrame]]
                                      ) -> None:
    ctx, raw = analysed
    built = _graph_builder(ctx, raw, str, str)()
    assert built.number_of_edges() == ctx.graph("collaboration").edges.height > 10
    _same(built, _edge_by_edge(ctx, raw))


@pytest.mark.parametrize("repeat", [False, True], ids=["reversed", "reversed-and-repeated"])
def test_pairs_listed_twice_add_up_in_row_order(
        analysed: tuple[AnalysisContext, Mapping[str, pl.DataFrame]],
        monkeypatch: pytest.MonkeyPatch, repeat: bool) -> None:
    ctx, raw = analysed
    real = ctx.graph("collaboration")
    edges = real.edges.head(6)
    flipped = edges.head(3).select(pl.col("dst").alias("src"), pl.col("src").alias("dst"),
                                   (pl.col("weight") / 3).alias("weight"))
    parts = [edges, flipped, edges.slice(1, 1)] if repeat else [edges, flipped]
    crafted = Graph(pl.concat(parts), real.nodes, False, "collaboration")
    monkeypatch.setattr(ctx, "graph", lambda view: crafted)
    built = _graph_builder(ctx, raw, str, str)()
    assert built.number_of_edges() == 6
    _same(built, _edge_by_edge(ctx, raw))


def test_review_pairs_computed_once_per_context(
        analysed: tuple[AnalysisContext, Mapping[str, pl.DataFrame]]) -> None:
    ctx, _raw = analysed
    # Outsider friction computed them during the run; the report's latency chart reuses them.
    first = _review_pairs(ctx)
    assert _review_pairs(ctx) is first
    assert first.height > 0
    assert first.equals(_review_pairs.__wrapped__(ctx))  # type: ignore[attr-defined]


def test_graph_built_once_and_only_for_the_graph_files(tmp_path: Path) -> None:
    report = build_report(tiny_org())
    calls: list[int] = []
    inner = report.graph_builder
    assert inner is not None

    def counted() -> nx.Graph:
        calls.append(1)
        return inner()

    report.graph_builder = counted
    render_report(report, tmp_path / "default")  # html, md, json, csv
    assert calls == []
    written = render_report(report, tmp_path / "graphs", formats="gexf,graphml")
    render_report(report, tmp_path / "again", formats="gexf")
    assert calls == [1]
    assert set(written) >= {"gexf", "graphml"}
    assert nx.read_gexf(tmp_path / "graphs" / "graph.gexf").number_of_edges() == \
        report.graph.number_of_edges() > 0  # type: ignore[union-attr]
