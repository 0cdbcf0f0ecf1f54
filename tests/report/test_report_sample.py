"""The report on the bundled sample organisation: files, offline HTML, determinism, CLI, browser.

The workspace is built from ``sample_data/`` once per module in a temporary folder.
"""

from __future__ import annotations

import filecmp
import json
import re
import shutil
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import networkx as nx
import pytest
import typer
from typer.testing import CliRunner

from orgnet.cli_report import EXIT_NEW_FINDINGS, register
from orgnet.exceptions import ConfigError
from orgnet.pipeline import import_sample
from orgnet.report import build_report, render_report
from orgnet.workspace import Workspace

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "report"
ALL = "html,md,json,csv,parquet,gexf,graphml"


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SAMPLE / "hris.csv").is_file():
        pytest.skip(f"sample data not found at {SAMPLE}")
    path = tmp_path_factory.mktemp("sample") / "ws"
    import_sample(SAMPLE, Workspace(path, lock_timeout=30))
    return path


@pytest.fixture(scope="module")
def sample_out(sample_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    render_report(build_report(sample_ws), out, formats=ALL)
    return out


def test_files(sample_out: Path) -> None:
    for name in ("report.html", "report.md", "findings.json", "graph.gexf", "graph.graphml",
                 "tables/findings.csv", "tables/ei_index.csv", "tables/ei_index.parquet",
                 "tables/unit_matrix.csv", "tables/influence.parquet"):
        assert (sample_out / name).is_file(), name
    assert not list(sample_out.rglob("*.gz"))
    doc = json.loads((sample_out / "findings.json").read_text())
    assert doc["findings"], "the sample organisation has planted findings"
    assert doc["data_up_to"] and doc["generated_at"] == doc["data_up_to"]
    kinds = {f["kind"] for f in doc["findings"]}
    assert {"gatekeeper", "review_bottleneck", "blind_spot"} <= kinds
    md = (sample_out / "report.md").read_text()
    assert "## Key figures" in md and "## Top findings" in md


class _Resources(HTMLParser):
    """Collects tags and attributes (script and style contents are not parsed as markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_self_contained(sample_out: Path) -> None:
    html = (sample_out / "report.html").read_text(encoding="utf-8")
    parser = _Resources()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag != "link", f"<link {attrs}> loads an external resource"
        for name in ("src", "href", "srcset", "poster", "data", "action"):
            value = (attrs.get(name) or "").strip().lower()
            assert not re.match(r"(https?:)?//", value), f"<{tag} {name}={value!r}>"
    scripts = [a for t, a in parser.tags if t == "script"]
    assert all("src" not in a for a in scripts)
    assert html.count("plotly.js v") == 1, "plotly.js must be inlined exactly once"
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "@import" not in html and "url(http" not in html
    for fig in ("fig-findings-by-kind", "fig-severity", "fig-sankey", "fig-unit-matrix", "fig-ei",
                "fig-approval", "fig-latency", "fig-trends"):
        assert f'id="{fig}"' in html, fig


def test_graph_exports_load(sample_out: Path) -> None:
    for g in (nx.read_gexf(sample_out / "graph.gexf"),
              nx.read_graphml(sample_out / "graph.graphml")):
        assert g.number_of_nodes() >= 100
        some = next(iter(g.nodes(data=True)))[1]
        assert {"name", "unit", "community", "pagerank"} <= set(some)
        assert all("weight" in d for _, _, d in g.edges(data=True))


def test_deterministic(sample_ws: Path, sample_out: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    render_report(build_report(sample_ws), again, formats=ALL)
    first = sorted(p.relative_to(sample_out) for p in sample_out.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert first == second
    different = [str(p) for p in first if not filecmp.cmp(sample_out / p, again / p, shallow=False)]
    assert different == []


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test app"""

    register(app)
    return app


def test_cli_exit_codes(sample_ws: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    first = tmp_path / "w1"
    res = runner.invoke(_app(), ["report", "-w", str(sample_ws), "--out", str(first),
                                 "--format", "md", "--fail-on-severity", "0.9"])
    assert res.exit_code == EXIT_NEW_FINDINGS == 2, res.output
    assert (first / "report.md").is_file() and (first / "findings.json").is_file()
    res = runner.invoke(_app(), ["report", "-w", str(sample_ws), "--out", str(tmp_path / "w2"),
                                 "--format", "md", "--previous", str(first),
                                 "--fail-on-severity", "0.0"])
    assert res.exit_code == 0, res.output  # nothing is new since the previous run
    assert "0 new" in res.output
    assert json.loads((tmp_path / "w2" / "diff.json").read_text())["counts"]["new"] == 0
    res = runner.invoke(_app(), ["report", "-w", str(sample_ws), "--out", str(tmp_path / "w3"),
                                 "--format", "md", "--fail-on-severity", "1.5"])
    assert isinstance(res.exception, ConfigError)  # main() turns it into one line and exit 1


def test_report_time(sample_ws: Path, tmp_path: Path) -> None:
    started = time.perf_counter()
    render_report(build_report(sample_ws), tmp_path, formats=ALL)
    assert time.perf_counter() - started < 30


# -- browser --------------------------------------------------------------------------------------


def _driver():  # type: ignore[no-untyped-def]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e .[dev])")
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
        "google-chrome")
    driver_bin = shutil.which("chromedriver")
    if not browser or not driver_bin:
        pytest.skip("chromium and chromedriver are needed for the browser test "
                    "(apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1400,1000",
                f"--user-data-dir={tempfile.mkdtemp(prefix='orgnet-chrome-')}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(driver_bin), options=opts)


def test_html_in_headless_chromium(sample_out: Path) -> None:
    driver = _driver()
    try:
        driver.get((sample_out / "report.html").resolve().as_uri())
        n_divs = driver.execute_script(
            "return document.querySelectorAll('.plotly-graph-div').length")
        rendered = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rendered = driver.execute_script(
                "return document.querySelectorAll('.plotly-graph-div .main-svg').length "
                "? Array.from(document.querySelectorAll('.plotly-graph-div'))"
                ".filter(d => d.querySelector('.main-svg')).length : 0")
            if rendered >= n_divs:
                break
            time.sleep(0.2)
        assert n_divs >= 8 and rendered == n_divs, f"{rendered} of {n_divs} figures rendered"
        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert severe == []
        requests = set()
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                requests.add(msg["params"]["request"]["url"])
        network = sorted(u for u in requests if re.match(r"(https?|wss?|ftp):", u))
        assert network == [], f"the report made network requests: {network[:5]}"
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1400, min(int(height) + 100, 16000))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "report-sample.png"))
    finally:
        driver.quit()
