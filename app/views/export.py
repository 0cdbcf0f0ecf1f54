"""Export: the report and the data exports of the command line, as downloads."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Literal

import polars as pl
import streamlit as st

from app import _shared as shared

opts, a = shared.page("Export", need_events=False)

st.subheader("Report")
st.caption("The same report as `orgnet report`: HTML and Markdown with figures, findings.json, "
           "and the analysis tables, with the privacy settings applied.")
formats = st.multiselect("Formats", ["html", "md", "json", "csv", "parquet", "gexf", "graphml"],
                         default=["html", "md", "json", "csv"], key="report-formats")
if st.button("Build the report", type="primary", key="report-go"):
    try:
        files = shared.report_files(opts, tuple(sorted(formats)))
    except Exception as exc:
        st.error("The report could not be built.")
        st.text(shared.plain(f"{type(exc).__name__}: {exc}"))
    else:
        st.session_state["report-files"] = (opts.key(), tuple(sorted(formats)), files)
built = st.session_state.get("report-files")
if built and built[0] == opts.key():
    files = built[2]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(files.items()):
            z.writestr(name, data)
    st.download_button("Download everything (zip)", buf.getvalue(), file_name="orgnet-report.zip",
                       mime="application/zip", on_click="ignore", key="dl-report-zip")
    main = {n: d for n, d in files.items() if "/" not in n}
    cols = st.columns(max(1, min(4, len(main))))
    for i, (name, data) in enumerate(sorted(main.items())):
        cols[i % len(cols)].download_button(name, data, file_name=name, on_click="ignore",
                                            key=f"dl-report-{name}")
    st.caption(f"{len(files)} files.")

st.subheader("Analysis tables")
frames = shared.export_frames(opts)
doc = dict(a.run.document)
doc["findings"] = [f.as_dict() for f in shared.findings_for(a, opts)]
c1, c2, c3 = st.columns(3)
c1.download_button("findings.json", json.dumps(doc, indent=2, ensure_ascii=False),
                   file_name="findings.json", mime="application/json", on_click="ignore",
                   key="dl-findings")
name = c2.selectbox("Analysis", sorted(frames), key="export-name")
fmt: Literal["csv", "parquet", "json"] = c3.radio("Format", ["csv", "parquet", "json"],
                                                  horizontal=True, key="export-fmt")
if name:
    frame = frames[name]
    st.download_button(f"Download {name}.{fmt}", shared.frame_bytes(frame, fmt),
                       file_name=f"{name}.{fmt}", on_click="ignore", key="dl-frame")
    st.caption(f"{frame.height:,} rows × {frame.width} columns")
    shared.show_table(frame.head(200), height=300)
overview = pl.DataFrame({"analysis": sorted(frames),
                         "rows": [frames[n].height for n in sorted(frames)]})
with st.expander("All analyses"):
    shared.show_table(overview)
if opts.aggregate_only:
    st.caption("Aggregate-only mode: person-level tables and columns are left out.")
