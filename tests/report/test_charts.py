"""The plotly builders of orgnet.viz.charts: empty input, escaping, labels, determinism."""

from __future__ import annotations

import datetime as dt

import numpy as np
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
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z[1][1] == 0.0  # absent pairs are 0, not gaps
    no_diag = charts.unit_matrix_heatmap(frame, unit_names=names, diagonal=False)
    zd = np.asarray(no_diag.data[0].z, dtype=float)
    assert np.isnan(np.diag(zd)).all() and np.isfinite(zd[~np.eye(3, dtype=bool)]).all()


def test_heatmap_of_a_large_org_shows_the_most_connected_units() -> None:
    # 60 units in a ring with weight growing along it; unit 59 also ties to everyone.
    src = [f"u{i:02d}" for i in range(60)] + ["u59"] * 59
    dst = [f"u{(i + 1) % 60:02d}" for i in range(60)] + [f"u{i:02d}" for i in range(59)]
    w = [float(i) for i in range(60)] + [100.0] * 59
    frame = pl.DataFrame({"src_unit": src, "dst_unit": dst, "weight": w})
    parents = {f"u{i:02d}": ("p1" if i % 2 else "p0") for i in range(60)}
    order = charts.most_connected_units(frame, 10, parents=parents)
    assert len(order) == 10 and "u59" in order
    cross = dict.fromkeys(parents, 0.0)
    for s, d, x in zip(src, dst, w, strict=True):
        cross[s] += x
        cross[d] += x
    top = sorted(cross, key=lambda u: (-cross[u], u))[:10]
    assert set(order) == set(top)
    assert [parents[u] for u in order] == sorted(parents[u] for u in order)  # grouped by parent
    fig = charts.unit_matrix_heatmap(frame, value="weight", order=order)
    assert np.asarray(fig.data[0].z).shape == (10, 10)


def test_latency_box_is_summary_statistics() -> None:
    hours = [0.5, 1.0, 2.0, 3.0, 4.0, 100.0]
    fig = charts.latency_box(pl.DataFrame({"side": ["insiders"] * 6, "hours": hours}))
    box = fig.data[0]
    q1, med, q3 = np.percentile(hours, [25, 50, 75])
    assert (box.q1[0], box.median[0], box.q3[0]) == (q1, med, q3)
    assert box.lowerfence[0] == 0.5 and box.upperfence[0] == 4.0  # 100 h is beyond 1.5 IQR
    assert box.y is None  # the observations are not embedded


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
