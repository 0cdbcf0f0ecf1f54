"""Overview: headline figures and the top findings."""

from __future__ import annotations

import json

import polars as pl
import streamlit as st

from app import _figures
from app import _shared as shared
from orgnet.viz.charts import findings_by_kind_bar

opts, a = shared.page("Overview", need_events=False)
f = shared.facts(opts.workspace, opts.fingerprint)
align = a.frame("alignment")
findings = shared.findings_for(a, opts)

c = st.columns(6)
c[0].metric("People", f"{f['people']:,}", help=f"{f['people_in_chart']:,} in the org chart; "
            "bots excluded")
c[1].metric(f"Units ({shared.md(opts.unit_kind)})", f"{len(a.unit_sizes):,}")
events = a.ctx.event_table().height
# Seven digits do not fit a metric on a laptop screen: 2.38M instead of 2,383,…
c[2].metric("Events in window", f"{events:,}" if events < 1_000_000 else f"{events / 1e6:.2f}M",
            help=f"{events:,} events by people (bots excluded) in the window")
if align.height and align["nmi"][0] is not None:
    c[3].metric("Alignment NMI", f"{align['nmi'][0]:.2f}",
                help="Normalised mutual information between collaboration communities and "
                "formal units (1 = the network follows the chart exactly).")
    c[4].metric("Alignment ARI", f"{align['ari'][0]:.2f}",
                help="Adjusted Rand index of the same two partitions (0 = chance).")
else:
    c[3].metric("Alignment NMI", "n/a")
    c[4].metric("Alignment ARI", "n/a")
c[5].metric("Findings", f"{len(findings):,}")

if not shared.no_events(a, opts):
    left, right = st.columns([2, 3])
    per_source = a.ctx.events(columns=["source"]).group_by("source").agg(pl.len().alias("events"))
    shared.chart(where=left, fig=_figures.events_per_source_bar(per_source, title="Events per source "
                                                     "(window)"))
    kinds = pl.DataFrame({"kind": [x.kind for x in findings],
                          "severity": [float(x.severity) for x in findings]},
                         schema={"kind": pl.String, "severity": pl.Float64})
    by_kind = findings_by_kind_bar(kinds)
    # Steeper labels: eleven kinds side by side overlap at -30 degrees on a laptop screen.
    by_kind.update_xaxes(tickangle=-50)
    by_kind.update_layout(margin={"l": 50, "b": 40})
    shared.chart(where=right, fig=by_kind)

st.subheader("Top findings")
if opts.aggregate_only:
    st.caption("Aggregate-only mode: findings about individual people are hidden.")
shared.finding_cards(findings, limit=10, key="overview")
doc = dict(a.run.document)
doc["findings"] = [x.as_dict() for x in findings]
st.download_button("Download findings.json", json.dumps(doc, indent=2, ensure_ascii=False),
                   file_name="findings.json", mime="application/json", on_click="ignore")
