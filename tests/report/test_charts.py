"""The plotly builders of orgnet.viz.charts: empty input, escaping, labels, determinism."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import polars as pl
import pytest

from orgnet.viz import charts

HOSTILE = '<a href="javascript:alert(1)">x</a>\x1b[31m'
LONG_A = "Platform Observability Experience Engineering A"
LONG_B = "Platform Observability Experience Engineering B"


def _all_text(fig: go.Figure) -> str:
    return fig.to_json()


def test_builders_on_empty_frames() -> None:
    empties = [
        charts.unit_matrix_heatmap(pl.DataFrame(schema={"src_unit": pl.String, "dst_unit": pl.String,
                                                        "weight_per_pair": pl.Float64})),
        charts.ei_expectation_bars(pl.DataFrame(schema={"unit_id": pl.String, "ei": pl.Float64,
                                                        "ei_expected": pl.Float64})),
        charts.approval_concentration_bars(pl.DataFrame(schema={
            "area_id": pl.String, "top_share": pl.Float64, "approvals": pl.Int64})),
        charts.latency_box(pl.DataFrame(schema={"side": pl.String, "hours": pl.Float64})),
        charts.trends_lines(pl.DataFrame(schema={"period_start": pl.Date, "nmi": pl.Float64})),
        charts.unit_community_sankey(pl.DataFrame(schema={"unit_id": pl.String,
                                                          "community": pl.String})),
        charts.findings_by_kind_bar(pl.DataFrame(schema={"kind": pl.String,
                                                         "severity": pl.Float64})),
        charts.severity_histogram(pl.DataFrame(schema={"severity": pl.Float64})),
    ]
    for fig in empties:
        assert isinstance(fig, go.Figure)
        assert fig.layout.annotations  # the "no data" note


def test_missing_column_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        charts.ei_expectation_bars(pl.DataFrame({"unit_id": ["a"]}))


def test_heatmap_labels_escaped_truncated_and_distinct() -> None:
    frame = pl.DataFrame({"src_unit": ["a", "b", "h"], "dst_unit": ["b", "a", "a"],
                          "weight_per_pair": [1.0, 2.0, 3.0]})
    names = {"a": LONG_A, "b": LONG_B, "h": HOSTILE}
    fig = charts.unit_matrix_heatmap(frame, unit_names=names, max_label=20)
    ticks = list(fig.layout.xaxis.ticktext)
    assert len(ticks) == 3 and all(len(t) <= 40 for t in ticks)
    assert len(set(ticks)) == 2  # the two long names look alike once truncated ...
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2]         # ... but stay distinct categories
    text = _all_text(fig)
    assert "<a href" not in text and "&lt;a href=" in text and "\x1b" not in text
    assert LONG_A in text  # the full name is in the hover data
    z = fig.data[0].z
    assert z[1][1] == 0.0 or z[1][1] is not None  # absent pairs are 0, not gaps
    no_diag = charts.unit_matrix_heatmap(frame, unit_names=names, diagonal=False)
    assert all(no_diag.data[0].z[i][i] is None for i in range(3))


def test_other_builders() -> None:
    ei = charts.ei_expectation_bars(pl.DataFrame({
        "unit_id": ["a", "b"], "ei": [-0.5, 0.4], "ei_expected": [0.6, 0.5], "z": [-3.0, -0.2]}),
        unit_names={"a": HOSTILE})
    assert next(iter(ei.layout.yaxis.ticktext)).startswith("&lt;a")  # most inward first
    ac = charts.approval_concentration_bars(pl.DataFrame({
        "area_id": ["x", "y"], "top_share": [0.2, 0.9], "approvals": [10, 30],
        "bus_factor": [3, 1]}))
    assert list(ac.data[0].x) == [0.9, 0.2]
    lat = charts.latency_box(pl.DataFrame({"side": ["insiders"] * 3 + ["outsiders"] * 2,
                                           "hours": [1.0, 2.0, 3.0, 10.0, 20.0]}))
    assert [t.name.split("<br>")[0] for t in lat.data] == ["insiders", "outsiders"]
    assert "median 15.0 h" in lat.data[1].name
    tr = charts.trends_lines(pl.DataFrame({
        "period_start": [dt.date(2024, 4, 1), dt.date(2024, 1, 1)], "nmi": [0.5, 0.4],
        "ari": [0.3, 0.2]}))
    assert list(tr.data[0].x) == ["2024-01-01", "2024-04-01"] and len(tr.data) == 2
    sk = charts.unit_community_sankey(pl.DataFrame({
        "unit_id": ["a", "a", "b", None], "community": ["c1", "c2", "c1", "c1"]}))
    assert sum(sk.data[0].link.value) == 3
    fk = charts.findings_by_kind_bar(pl.DataFrame({"kind": ["silo", "silo", "gatekeeper"],
                                                   "severity": [0.9, 0.2, 0.75]}))
    assert list(fk.data[0].y) == [1, 1] and list(fk.data[1].y) == [1, 0]
    sh = charts.severity_histogram(pl.DataFrame({"severity": [0.0, 0.05, 0.95, 1.0]}))
    assert next(iter(sh.data[0].y)) == 2 and list(sh.data[0].y)[-1] == 2


def test_deterministic_json() -> None:
    frame = pl.DataFrame({"kind": ["silo", "gatekeeper"], "severity": [0.9, 0.5]})
    assert charts.findings_by_kind_bar(frame).to_json() == charts.findings_by_kind_bar(frame).to_json()


def test_exported_from_viz() -> None:
    from orgnet import viz

    for name in charts.__all__:
        assert hasattr(viz, name)
