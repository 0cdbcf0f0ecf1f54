"""Data: workspace status, import log, rejects, unresolved identities, and upload-to-import."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from app import _figures
from app import _shared as shared
from orgnet.exceptions import OrgnetError

st.title("Data")
state = shared.workspace_state()
st.caption(f"Workspace: {shared.md(state.path)}")
opts = shared.options()


def _import_upload(upload: object) -> None:
    """Save the upload to a temp file, detect the format, import it like `orgnet import auto`."""
    from orgnet.cli import _loader, detect_source, run_import

    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(getattr(upload, "name", "upload")).name)
    name = name.lstrip(".") or "upload"
    with tempfile.TemporaryDirectory(prefix="orgnet-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(upload.getvalue())  # type: ignore[attr-defined]
        source = detect_source(path)
        if source is None:
            st.session_state["upload-result"] = ("error", f"{name}: format not recognised. "
                                                 "Import it from a terminal naming the source: "
                                                 f"orgnet import SOURCE {name} -w {state.path}")
            return
        fn = _loader(f"orgnet.importers.{source}", f"import_{source}")
        summary = run_import(state.path, source, path, fn, {}, quiet=True)
    if summary is None:
        st.session_state["upload-result"] = ("info", f"{name}: already imported; nothing to do.")
        return
    c = summary.counts
    st.session_state["upload-result"] = (
        "ok", f"{name}: imported as {source}: {c.read:,} records read, {c.imported:,} imported, "
        f"{c.duplicate:,} duplicate, {c.rejected:,} rejected, {c.skipped:,} skipped.")


with st.expander("Import a file", expanded=state.state != "ready"):
    if state.state == "broken":
        st.warning("The workspace cannot be read, so nothing can be imported into it.")
    else:
        st.caption("The format is detected as with `orgnet import auto`; options (repository "
                   "name, mailmap ...) need the command line. Start with the org chart.")
        upload = st.file_uploader("Export file", key="upload",
                                  help="HRIS CSV, git log, GitHub/GitLab/Gerrit JSON, Slack or "
                                  "Mattermost export, mbox, CODEOWNERS ...")
        if upload is not None and st.button("Import", type="primary", key="upload-go"):
            try:
                with st.spinner("Importing…"):
                    _import_upload(upload)
            except OrgnetError as exc:
                st.session_state["upload-result"] = ("error", str(exc))
            except OSError as exc:
                st.session_state["upload-result"] = ("error", f"cannot read the upload: {exc}")
            st.rerun()
    result = st.session_state.get("upload-result")
    if result:
        kind, text = result
        {"ok": st.success, "info": st.info}.get(kind, st.error)(shared.md(text))

if state.state != "ready":
    shared.guidance(state)
    st.stop()

f = shared.facts(str(state.path), state.fingerprint)
st.subheader("Tables")
left, right = st.columns(2)
counts = pl.DataFrame({"table": list(f["counts"]), "rows": list(f["counts"].values())})
with left:
    shared.show_table(counts)
    st.caption(f"{f['people']:,} people ({f['people_in_chart']:,} in the org chart), events from "
               f"{f['first']:%Y-%m-%d} to {f['last']:%Y-%m-%d}" if f["first"] else
               f"{f['people']:,} people; no events yet")
shared.chart(where=right, fig=_figures.events_per_source_bar(f["per_source"]))
shared.show_table(f["per_source"])
st.caption("Unit kinds: " + ", ".join(f"{shared.md(k)} ({n})" for k, n in f["unit_kinds"].iter_rows())
           if f["unit_kinds"].height else "No formal units yet: import an org chart.")

st.subheader("Import log")
log = pl.DataFrame([
    {"time": e.get("time"), "source": e.get("source_kind"), "file": Path(str(e.get("file"))).name,
     **{k: (e.get("counts") or {}).get(k) for k in ("read", "imported", "duplicate", "rejected",
                                                     "skipped")}}
    for e in reversed(f["imports"])
]) if f["imports"] else pl.DataFrame({"time": [], "source": [], "file": []})
shared.show_table(log, height=260)

st.subheader("Rejected, repaired and flagged records")
rej = shared.rejects_table(str(state.path), state.fingerprint)
if rej.height == 0:
    st.caption("No problems recorded.")
else:
    summary = rej.group_by("source_kind", "outcome", "reason").agg(pl.len().alias("records")) \
        .sort("records", descending=True)
    shared.show_table(summary, height=240)
    if opts is not None and opts.aggregate_only:
        st.caption("Aggregate-only mode: the records themselves (which may name people) are "
                   "hidden; orgnet rejects lists them.")
    else:
        with st.expander(f"All {rej.height:,} records (file, line, field, reason)"):
            shared.show_table(rej.select("source_kind", "source_file", "line", "field",
                                         "outcome", "reason", "raw_excerpt"), height=320)
        shared.download_frame(rej, "rejects")

st.subheader("Unresolved identities")
if opts is not None and opts.aggregate_only:
    st.info("Aggregate-only mode: the identity list (person-level) is hidden.")
else:
    show = st.radio("Show", ["unresolved", "ambiguous", "all"], horizontal=True, key="id-show")
    ids = shared.identity_table(str(state.path), state.fingerprint, show)
    st.caption(f"{ids.height:,} {show} handles. Link them with an alias file: "
               "orgnet import aliases aliases.csv (person_id,source,handle).")
    shared.show_table(ids.head(500), height=320)
    shared.download_frame(ids, f"identities-{show}")
