"""Every dashboard page with Streamlit's AppTest on a workspace built from sample_data.

Checks that no page raises, that each shows its title, a chart and a table; that a missing,
empty or broken workspace gets guidance instead of a traceback; that an empty window is handled;
that aggregate-only mode hides person-level views; that hostile names stay inert; and that a file
uploaded on the Data page is imported.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from orgnet.demo import find_sample_data
from orgnet.pipeline import import_sample
from orgnet.workspace import Workspace
from tests.app.conftest import ENTRY, PAGES, ROOT

TIMEOUT = 120

#: Pages and what each must show: (needs a chart, needs a table).
EXPECT: dict[str, tuple[bool, bool]] = {
    "overview": (True, False),
    "network": (True, True),
    "informal": (True, True),
    "unit_matrix": (True, True),
    "blind_spots": (True, True),
    "gatekeeping": (True, True),
    "people": (True, True),
    "ownership": (True, True),
    "trends": (True, True),
    "data": (True, True),
    "export": (False, True),
}


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Point the app at a workspace (and optionally a config) through the environment."""

    def _serve(workspace: Path, config: Path | None = None) -> AppTest:
        monkeypatch.setenv("ORGNET_WORKSPACE", str(workspace))
        if config is None:
            monkeypatch.delenv("ORGNET_APP_CONFIG", raising=False)
        else:
            monkeypatch.setenv("ORGNET_APP_CONFIG", str(config))
        return AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT)

    yield _serve


def _open(at: AppTest, page: str) -> AppTest:
    at.run()
    if page != "overview":
        at.switch_page(f"views/{page}.py").run()
    return at


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [t.value for t in at.text] + \
        [c.value for c in at.code] + [i.value for i in at.info] + [e.value for e in at.error] + \
        [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders(serve: object, sample_workspace: Path, page: str) -> None:
    at = _open(serve(sample_workspace), page)  # type: ignore[operator]
    _no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == PAGES[page]
    chart, table = EXPECT[page]
    if chart:
        assert at.get("plotly_chart"), f"{page}: no chart"
    if table:
        assert at.dataframe, f"{page}: no table"
    assert at.get("download_button"), f"{page}: no download"


def test_sidebar_has_the_options(serve: object, sample_workspace: Path) -> None:
    at = _open(serve(sample_workspace), "overview")  # type: ignore[operator]
    assert at.sidebar.date_input, "window"
    kinds = at.sidebar.selectbox[0]
    assert kinds.label == "Unit level" and "team" in kinds.options
    assert set(at.sidebar.multiselect[0].value) == {"git", "github", "slack"}
    assert at.sidebar.number_input[0].value == 5
    assert int(at.metric[0].value.replace(",", "")) == 150  # people


def test_options_change_the_analysis(serve: object, sample_workspace: Path) -> None:
    at = _open(serve(sample_workspace), "overview")  # type: ignore[operator]
    findings_all = at.metric[5].value
    at.sidebar.multiselect[0].set_value(["slack"]).run()
    _no_exception(at)
    assert at.metric[2].value != "0"
    at.sidebar.selectbox[0].set_value("department").run()
    _no_exception(at)
    assert at.metric[1].label.startswith("Units (department)")
    at.sidebar.number_input[0].set_value(12).run()
    _no_exception(at)
    assert findings_all  # the page still shows a count


def test_empty_window(serve: object, sample_workspace: Path) -> None:
    at = _open(serve(sample_workspace), "overview")  # type: ignore[operator]
    day = dt.date(2026, 1, 1)
    at.sidebar.date_input[0].set_value((day, day)).run()
    for page in ("overview", "network", "informal", "unit_matrix", "blind_spots", "gatekeeping",
                 "people", "ownership", "trends", "export"):
        at.switch_page(f"views/{page}.py").run()
        _no_exception(at)


@pytest.mark.parametrize("state", ["missing", "empty", "broken", "file"])
def test_guidance_without_data(serve: object, tmp_path: Path, state: str) -> None:
    ws = tmp_path / "ws"
    if state == "empty":
        ws.mkdir()
        (ws / "meta.json").write_text(json.dumps({"format": 1, "generation": 0, "tables": {},
                                                  "imports": []}))
    elif state == "broken":
        ws.mkdir()
        (ws / "meta.json").write_text("{not json")
    elif state == "file":
        ws.write_text("not a workspace")
    at = serve(ws)  # type: ignore[operator]
    at.run()
    _no_exception(at)
    assert at.title[0].value == "orgnet"
    text = _texts(at)
    if state in ("broken", "file"):
        assert at.error, "a broken workspace says so"
        assert "orgnet status" in text
    else:
        assert "orgnet import orgchart" in text and "orgnet demo" in text
        at.switch_page("views/data.py").run()
        _no_exception(at)
        assert at.get("file_uploader")


def test_bad_config_is_a_message(serve: object, sample_workspace: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "orgnet.toml"
    cfg.write_text("[privacy]\nmin_group_sise = 3\n")
    at = serve(sample_workspace, cfg)  # type: ignore[operator]
    at.run()
    _no_exception(at)
    assert at.error and "min_group_sise" in _texts(at)


def test_aggregate_only_hides_people(serve: object, sample_workspace: Path,
                                     tmp_path: Path) -> None:
    cfg = tmp_path / "orgnet.toml"
    cfg.write_text("[privacy]\naggregate_only = true\nmin_group_size = 6\n")
    at = serve(sample_workspace, cfg)  # type: ignore[operator]
    at.run()
    _no_exception(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/people.py").run()
    names = pl.read_csv(ROOT / "sample_data" / "hris.csv")["full_name"].to_list()
    for page in ("overview", "network", "informal", "gatekeeping", "ownership", "data", "export"):
        at.switch_page(f"views/{page}.py").run()
        _no_exception(at)
        shown = _texts(at) + "\n".join(
            df.value.to_csv() for df in at.dataframe)
        leaked = [n for n in names if n and n in shown]
        assert not leaked, f"{page} shows person names in aggregate-only mode: {leaked[:3]}"
    assert at.sidebar.number_input[0].min == 6  # the config is a floor


@pytest.fixture(scope="module")
def hostile_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sample_data with a person and a team named like attacks."""
    sample = find_sample_data(ROOT / "sample_data")
    if sample is None:
        pytest.skip("sample_data/ is missing")
    folder = tmp_path_factory.mktemp("hostile")
    for f in sample.iterdir():
        if f.is_file():
            shutil.copy(f, folder / f.name)
    hris = pl.read_csv(folder / "hris.csv", infer_schema=False)
    victim = hris["full_name"][5]
    hris = hris.with_columns(
        pl.when(pl.col("full_name") == victim).then(pl.lit("<script>alert(1)</script> **bold**"))
        .otherwise(pl.col("full_name")).alias("full_name"),
        pl.col("team").str.replace(r"^(.+)$", "=HYPERLINK(\"http://x\",\"$1\")\x1b[31m"),
    )
    hris.write_csv(folder / "hris.csv")
    ws = folder / "workspace"
    import_sample(folder, ws)
    return ws


def test_hostile_names_are_inert(serve: object, hostile_workspace: Path) -> None:
    at = serve(hostile_workspace)  # type: ignore[operator]
    for page in ("overview", "network", "informal", "people", "gatekeeping"):
        _open(at, page)
        _no_exception(at)
        for m in at.markdown:
            assert "<script>" not in m.value, f"{page}: raw HTML in markdown: {m.value[:120]}"
            assert "\x1b" not in m.value
            assert not getattr(m.proto, "allow_html", False)
        for chart in at.get("plotly_chart"):
            spec = chart.proto.spec if hasattr(chart.proto, "spec") else ""
            assert "<script>" not in spec, f"{page}: raw HTML in a chart label"


def test_upload_imports_a_file(serve: object, tmp_path: Path) -> None:
    ws = tmp_path / "fresh"
    at = serve(ws)  # type: ignore[operator]
    at.run()
    at.switch_page("views/data.py").run()
    _no_exception(at)
    content = (ROOT / "sample_data" / "hris.csv").read_bytes()
    at.get("file_uploader")[0].upload("hris.csv", content, "text/csv").run()
    at.button(key="upload-go").click().run()
    _no_exception(at)
    assert Workspace(ws).exists()
    assert Workspace(ws).counts()["people"] > 100
    assert "imported as orgchart" in "\n".join(s.value for s in at.success)


def test_export_builds_the_report(serve: object, sample_workspace: Path) -> None:
    at = _open(serve(sample_workspace), "export")  # type: ignore[operator]
    at.multiselect(key="report-formats").set_value(["json", "md"]).run()
    at.button(key="report-go").click().run()
    _no_exception(at)
    assert not at.error, [e.value for e in at.error]
    labels = [b.label for b in at.get("download_button")]
    assert "report.md" in labels and "findings.json" in labels, labels


def test_password_sign_in_gates_every_page(serve: object, sample_workspace: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "orgnet.toml"
    cfg.write_text('[app]\nauth = "password"\npassword_env = "ORGNET_TEST_PW"\n')
    monkeypatch.setenv("ORGNET_TEST_PW", "s3cret-passphrase")
    at = serve(sample_workspace, cfg)  # type: ignore[operator]
    at.run()
    _no_exception(at)
    # Before sign-in: a password field, no analysis content, no navigation.
    assert len(at.text_input) == 1 and not at.metric and not at.dataframe
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert "Wrong password" in _texts(at) and not at.metric
    at.text_input[0].input("s3cret-passphrase")
    at.button[0].click().run()
    _no_exception(at)
    assert at.metric  # the overview's headline figures


def test_password_sign_in_without_the_secret_refuses(serve: object, sample_workspace: Path,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "orgnet.toml"
    cfg.write_text('[app]\nauth = "password"\npassword_env = "ORGNET_TEST_PW_UNSET"\n')
    monkeypatch.delenv("ORGNET_TEST_PW_UNSET", raising=False)
    at = serve(sample_workspace, cfg)  # type: ignore[operator]
    at.run()
    _no_exception(at)
    assert "ORGNET_TEST_PW_UNSET" in _texts(at) and not at.metric and not at.text_input


def test_oidc_without_secrets_is_a_message(serve: object, sample_workspace: Path,
                                           tmp_path: Path) -> None:
    cfg = tmp_path / "orgnet.toml"
    cfg.write_text('[app]\nauth = "oidc"\n')
    at = serve(sample_workspace, cfg)  # type: ignore[operator]
    at.run()
    _no_exception(at)
    assert not at.metric and ("secrets.toml" in _texts(at) or at.button)
