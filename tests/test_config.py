"""orgnet.toml: defaults, values, and errors that name the key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from orgnet.config import Config, load_config
from orgnet.exceptions import ConfigError


def test_defaults_without_a_file(tmp_path: Path) -> None:
    cfg = load_config(workspace=tmp_path)
    assert cfg == Config()
    assert cfg.privacy.min_group_size == 5 and cfg.app.host == "127.0.0.1"


def test_values_are_read_from_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "orgnet.toml").write_text(
        '[analysis]\nunit_kind = "department"\nsince = 2026-01-01\n'
        '[report]\nsections = ["overview", "findings"]\ntop_findings = 5\n'
        '[privacy]\nmin_group_size = 7\npseudonymize = true\n'
        '[thresholds.blind_spot]\nmax_congruence = 0.1\n')
    cfg = load_config(workspace=tmp_path)
    assert cfg.analysis.unit_kind == "department"
    assert cfg.analysis.since == dt.date(2026, 1, 1)
    assert cfg.report.sections == ("overview", "findings") and cfg.report.top_findings == 5
    assert cfg.privacy.min_group_size == 7 and cfg.privacy.pseudonymize
    assert cfg.rule_options("blind_spot") == {"max_congruence": 0.1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[analysis]\nunit_knd = 'team'\n", "unknown key 'unit_knd' in [analysis]"),
        ("[reports]\n", "unknown section [reports]"),
        ("[privacy]\nmin_group_size = 'five'\n", "[privacy] min_group_size"),
        ("[report]\nsections = ['overview', 'gossip']\n", "unknown value(s) ['gossip']"),
        ("[thresholds.blind_spot]\nmax_congruense = 0.1\n", "unknown key 'max_congruense'"),
        ("[thresholds.gossip]\nx = 1\n", "unknown finding kind [thresholds.gossip]"),
        ("[analysis\n", "not valid TOML"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "orgnet.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")
