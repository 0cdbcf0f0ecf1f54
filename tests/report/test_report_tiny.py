"""Report on a tiny hand-built organisation: golden files, hostile names, diff, privacy."""

from __future__ import annotations

import csv
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import networkx as nx
import pytest

from orgnet.config import Config, PrivacyConfig, ReportConfig
from orgnet.exceptions import ConfigError, InputError
from orgnet.report import build_report, diff_findings, load_previous, render_report
from orgnet.report._text import md_text
from tests.report._tiny import tiny_org

GOLDEN = Path(__file__).parent / "golden"
#: Regenerate the golden files only when asked: ORGNET_UPDATE_GOLDEN=1 pytest tests/report
UPDATE = os.environ.get("ORGNET_UPDATE_GOLDEN") == "1"
ALL = "html,md,json,csv,parquet,gexf,graphml"


# -- golden ---------------------------------------------------------------------------------------


def test_golden_markdown_and_findings(tmp_path: Path) -> None:
    render_report(build_report(tiny_org()), tmp_path, formats=ALL)
    for name in ("report.md", "findings.json"):
        got = (tmp_path / name).read_text(encoding="utf-8")
        golden = GOLDEN / f"tiny_{name}"
        if UPDATE:
            golden.write_text(got, encoding="utf-8")
        assert golden.is_file(), f"{golden} missing: run ORGNET_UPDATE_GOLDEN=1 pytest {__file__}"
        assert got == golden.read_text(encoding="utf-8"), (
            f"{name} differs from {golden}; if the change is intended, regenerate with "
            "ORGNET_UPDATE_GOLDEN=1")


def test_tiny_report_contents(tmp_path: Path) -> None:
    report = build_report(tiny_org())
    doc = report.document
    assert doc["data_up_to"] == "2024-03-15T12:00:00Z"
    assert doc["generated_at"] == doc["data_up_to"]  # no clock without an explicit time
    assert doc["unit_kind"] == "team"
    # delta has 2 people: suppressed from unit-level frames
    assert "delta" not in report.frames["ei_index"]["unit_id"].to_list()
    assert "delta" not in report.frames["unit_matrix"]["src_unit"].to_list()
    assert any("fewer than 5 people" in n for n in report.notes)
    written = render_report(report, tmp_path, formats=ALL)
    assert set(written) == {"json", "html", "md", "csv", "parquet", "gexf", "graphml"}
    stamped = build_report(tiny_org(), generated_at="2024-04-01T08:00:00Z")
    assert stamped.document["generated_at"] == "2024-04-01T08:00:00Z"


def test_graph_files_load_with_attributes(tmp_path: Path) -> None:
    render_report(build_report(tiny_org()), tmp_path, formats="gexf,graphml")
    for g in (nx.read_gexf(tmp_path / "graph.gexf"), nx.read_graphml(tmp_path / "graph.graphml")):
        assert g.number_of_nodes() == 17
        a0 = g.nodes["a0"]
        assert a0["name"] == "A0"
        assert a0["unit"] == "Alpha"
        assert a0["community"]
        assert float(a0["pagerank"]) > 0
        assert all(float(d["weight"]) > 0 for _, _, d in g.edges(data=True))
        assert g.has_edge("a0", "b0")
    assert 'lastmodifieddate="2024-03-15"' in (tmp_path / "graph.gexf").read_text()


# -- hostile names --------------------------------------------------------------------------------

HOSTILE_PERSON = {
    "a0": "<script>alert(1)</script>",
    "a1": '=HYPERLINK("http://x","y")',
    "a2": "\x1b[31mRed\x1b[0m Eve",
    "a3": "[x](javascript:alert(1))",
    "a4": "pipe|name",
}
HOSTILE_UNITS = {"alpha": "<img src=x onerror=alert(1)>", "beta": "Beta | [y](javascript:z)"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _hostile_previous() -> dict[str, object]:
    # resolved findings carry hostile titles into the diff of the HTML and the Markdown
    return {"findings": [
        {"id": "h1", "kind": "silo", "severity": 0.5, "title": HOSTILE_PERSON["a0"]},
        {"id": "h2", "kind": "silo", "severity": 0.4, "title": HOSTILE_PERSON["a3"] + " a|b"},
        {"id": "h3", "kind": "silo", "severity": 0.3, "title": HOSTILE_PERSON["a2"]},
    ]}


@pytest.fixture(scope="module")
def hostile_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile")
    data = tiny_org(person_names=HOSTILE_PERSON, unit_names=HOSTILE_UNITS,
                    unit_ids={"gamma": '=HYPERLINK("http://evil","g")', "beta": "+beta"})
    render_report(build_report(data, previous=_hostile_previous()), out, formats=ALL)
    return out


def test_hostile_names_inert_in_html(hostile_out: Path) -> None:
    html = (hostile_out / "report.html").read_text(encoding="utf-8")
    body = html[html.index("<main>"):]
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body
    assert "\x1b" not in html
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in ("img", "iframe", "link", "object", "embed"), tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)


def test_hostile_names_inert_in_markdown(hostile_out: Path) -> None:
    md = (hostile_out / "report.md").read_text(encoding="utf-8")
    assert "\x1b" not in md
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert not re.search(r"(?<!\\)\]\(", md)  # every "]" is escaped: never a link
    assert r"\[x\](javascript:alert(1))" in md
    for line in md.splitlines():
        if line.startswith("| ") and "a\\|b" in line:
            # the hostile pipe is escaped: the row keeps the header's cell count
            assert line.replace("\\|", "").count("|") == 4  # severity, kind, finding
            break
    else:
        pytest.fail("the hostile title is not in the Markdown diff table")


def test_md_text_escapes() -> None:
    assert md_text("a|b") == r"a\|b"
    assert md_text("<b>*x*</b>") == r"&lt;b&gt;\*x\*&lt;/b&gt;"
    assert md_text("\x1b[31mred") == r"\[31mred"


def test_hostile_names_neutralised_in_csv(hostile_out: Path) -> None:
    checked = 0
    for path in sorted((hostile_out / "tables").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    if cell[:1] in ("=", "+", "@", "\t", "\r"):
                        pytest.fail(f"{path.name}: formula-like cell {cell!r}")
                    if cell.startswith("-"):
                        float(cell)  # only negative numbers may start with "-"
                    checked += 1
    assert checked
    ei = (hostile_out / "tables" / "ei_index.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in ei and "'+beta" in ei


# -- diff -----------------------------------------------------------------------------------------


def test_diff_new_resolved_worse() -> None:
    previous = {"generated_at": "2024-01-01T00:00:00Z", "findings": [
        {"id": "keep", "kind": "silo", "severity": 0.50, "title": "same"},
        {"id": "up", "kind": "gatekeeper", "severity": 0.40, "title": "grew"},
        {"id": "slightly", "kind": "silo", "severity": 0.40, "title": "grew a little"},
        {"id": "gone", "kind": "blind_spot", "severity": 0.90, "title": "fixed"},
    ]}
    current = {"generated_at": "2024-02-01T00:00:00Z", "findings": [
        {"id": "keep", "kind": "silo", "severity": 0.45, "title": "same"},
        {"id": "up", "kind": "gatekeeper", "severity": 0.50, "title": "grew"},
        {"id": "slightly", "kind": "silo", "severity": 0.49, "title": "grew a little"},
        {"id": "fresh", "kind": "informal_team", "severity": 0.70, "title": "appeared"},
    ]}
    d = diff_findings(current, previous)
    assert [e["id"] for e in d["new"]] == ["fresh"]
    assert [e["id"] for e in d["resolved"]] == ["gone"]
    assert [e["id"] for e in d["worse"]] == ["up"]
    assert d["worse"][0]["previous_severity"] == 0.40
    assert [e["id"] for e in d["unchanged"]] == ["slightly", "keep"]  # by severity
    assert d["counts"] == {"new": 1, "resolved": 1, "worse": 1, "unchanged": 2}
    assert d["new"][0]["title"] == "appeared"
    assert diff_findings(current, current)["counts"]["unchanged"] == 4


def test_previous_run_in_every_output(tmp_path: Path) -> None:
    first = tmp_path / "week1"
    report = build_report(tiny_org())
    render_report(report, first, formats="json")
    prev = load_previous(first)
    prev["findings"] = [dict(f, severity=max(0.0, f["severity"] - 0.2)) for f in prev["findings"]]
    prev["findings"].append({"id": "old", "kind": "silo", "severity": 0.6, "title": "Gone silo"})
    second = tmp_path / "week2"
    r2 = build_report(tiny_org(), previous=prev)
    written = render_report(r2, second, formats="html,md,json")
    assert written["diff"] == [second / "diff.json"]
    diff = json.loads((second / "diff.json").read_text())
    assert [e["id"] for e in diff["resolved"]] == ["old"]
    assert len(diff["worse"]) == len(report.findings)
    assert r2.new_findings() == []
    md = (second / "report.md").read_text()
    assert "## Changes since the previous run" in md and "Gone silo" in md
    html = (second / "report.html").read_text()
    assert 'id="changes"' in html and "Gone silo" in html


def test_previous_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no findings\.json"):
        build_report(tiny_org(), previous=tmp_path / "missing")
    (tmp_path / "findings.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not a readable"):
        load_previous(tmp_path)
    (tmp_path / "findings.json").write_text('{"findings": 3}', encoding="utf-8")
    with pytest.raises(InputError, match=r"not a findings\.json"):
        load_previous(tmp_path / "findings.json")


# -- configuration and privacy --------------------------------------------------------------------


def test_sections_follow_config(tmp_path: Path) -> None:
    cfg = Config(report=ReportConfig(sections=("overview", "gatekeeping"), top_findings=1))
    render_report(build_report(tiny_org(), config=cfg), tmp_path, formats="html")
    parser = _Tags()
    parser.feed((tmp_path / "report.html").read_text(encoding="utf-8"))
    sections = [a.get("id") for t, a in parser.tags if t == "section"]
    assert sections == ["overview", "gatekeeping"]


def test_aggregate_only_hides_people(tmp_path: Path) -> None:
    cfg = Config(privacy=PrivacyConfig(aggregate_only=True))
    report = build_report(tiny_org(), config=cfg)
    assert report.graph is None
    assert all(not f["people"] for f in report.findings)
    assert report.hidden_findings == 1
    assert "influence" not in report.frames and "communities" not in report.frames
    assert all("person_id" not in df.columns for df in report.frames.values())
    written = render_report(report, tmp_path, formats=ALL)
    assert "gexf" not in written and "graphml" not in written
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "person-level views are disabled" in html
    assert ">A0<" not in html and "<th>top approver</th>" not in html


def test_min_group_size_from_config() -> None:
    cfg = Config(privacy=PrivacyConfig(min_group_size=6))
    report = build_report(tiny_org(), config=cfg)
    assert report.frames["ei_index"].height == 0
    assert report.frames["unit_matrix"].height == 0


def test_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unit-kind"):
        build_report(tiny_org(), unit_kind="department")
    with pytest.raises(ConfigError, match="unknown format"):
        render_report(build_report(tiny_org()), tmp_path, formats="html,pdf")
