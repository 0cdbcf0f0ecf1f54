"""Network figure builders (orgnet.viz.network): deterministic layout, WebGL for big graphs,
inert labels, ego networks and unit graphs."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import polars as pl

from orgnet.viz.network import (
    GL_ABOVE,
    ego_edges,
    ego_figure,
    layout_positions,
    network_figure,
    unit_network_figure,
)

EDGES = pl.DataFrame({"src": ["a", "a", "b", "c", "d"], "dst": ["b", "c", "c", "d", "e"],
                      "weight": [3.0, 1.0, 2.0, 0.5, 4.0]})
NODES = ["a", "b", "c", "d", "e", "lonely"]


def test_layout_is_deterministic_and_complete() -> None:
    one = layout_positions(EDGES, NODES, seed=3)
    two = layout_positions(EDGES, NODES, seed=3)
    assert one.equals(two)
    assert one["node"].to_list() == NODES
    assert one.select(pl.col("x").abs().max(), pl.col("y").abs().max()).row(0) <= (1.15, 1.15)
    assert layout_positions(EDGES.head(0), []).height == 0


def test_spectral_layout_for_big_graphs() -> None:
    n = 60
    nodes = [f"p{i}" for i in range(n)]
    edges = pl.DataFrame({"src": nodes[:-1], "dst": nodes[1:], "weight": [1.0] * (n - 1)})
    pos = layout_positions(edges, nodes, spring_max_nodes=10)
    assert pos.height == n and pos["x"].is_finite().all()


def _nodes(names: list[str], group: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"node": names, "label": names, "group": group,
                         "size": [1.0] * len(names)})


def test_labels_are_inert_html() -> None:
    hostile = "<script>alert(1)</script>"
    nodes = pl.DataFrame({"node": ["a", "b"], "label": [hostile, "=HYPERLINK(\"x\")\x1b[31m"],
                          "group": ["<b>team</b>", "t"], "size": [1.0, 2.0]})
    edges = pl.DataFrame({"src": ["a"], "dst": ["b"], "weight": [1.0]})
    fig = network_figure(nodes, edges)
    spec = fig.to_json()
    assert "<script>" not in spec and "\\u001b" not in spec and "<b>team" not in spec
    assert "&lt;script&gt;" in spec
    ego = ego_figure(edges, "a", labels={"a": hostile, "b": "x"}, groups={"a": hostile})
    assert "<script>" not in ego.to_json()


def test_webgl_above_threshold() -> None:
    n = GL_ABOVE + 1
    names = [f"p{i}" for i in range(n)]
    pos = pl.DataFrame({"node": names, "x": [float(i) for i in range(n)], "y": [0.0] * n})
    fig = network_figure(_nodes(names, ["g"] * n), EDGES.head(0), positions=pos)
    assert any(isinstance(t, go.Scattergl) for t in fig.data)
    small = network_figure(_nodes(NODES, ["g"] * 6), EDGES)
    assert not any(isinstance(t, go.Scattergl) for t in small.data)


def test_click_ids_and_highlight() -> None:
    fig = network_figure(_nodes(NODES, ["x", "x", "y", "y", "y", "x"]), EDGES, highlight="c")
    ids = [c for t in fig.data if t.customdata is not None for c in t.customdata]
    assert sorted(ids) == sorted(NODES)
    assert any(t.name == "focus" for t in fig.data)


def test_ego_edges() -> None:
    ego = ego_edges(EDGES, "c", max_neighbors=2)
    spokes = ego.filter(pl.col("spoke"))
    assert spokes["dst"].to_list() == ["b", "a"]  # heaviest first
    assert ego.filter(~pl.col("spoke")).select("src", "dst").rows() == [("a", "b")]
    assert ego_edges(EDGES.head(0), "c").height == 0


def test_unit_network() -> None:
    units = pl.DataFrame({"node": ["u1", "u2", "u3"], "label": ["One", "Two", "Three"],
                          "size": [5, 9, 7], "group": ["D", "D", "E"]})
    edges = pl.DataFrame({"src": ["u1", "u1", "u2"], "dst": ["u2", "u3", "u2"],
                          "weight": [10.0, 1.0, 99.0]})
    fig = unit_network_figure(units, edges)
    labels = [x for t in fig.data if t.mode and "text" in t.mode for x in t.text]
    assert sorted(labels) == ["One", "Three", "Two"]
    json.loads(fig.to_json())
    assert unit_network_figure(units.head(0), edges).data == ()
