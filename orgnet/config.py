"""``orgnet.toml``: report sections, thresholds, unit level, privacy and pseudonymisation.

Found in the workspace (``WORKSPACE/orgnet.toml``) or given with ``--config``; the command line and
the dashboard read the same file. Unknown keys are an error naming the key, so a typo never silently
does nothing. Example::

    [analysis]
    unit_kind = "team"          # team, department, maintainer_section, company ...
    since = "2026-01-01"        # optional window
    until = "2026-07-01"

    [thresholds.blind_spot]     # keyword options of a finding rule (see `orgnet analyze --help`)
    max_congruence = 0.15

    [report]
    sections = ["overview", "findings", "alignment", "unit_matrix", "blind_spots",
                "gatekeeping", "people", "ownership", "trends", "data"]
    formats = ["html", "md", "json", "csv"]
    top_findings = 20
    min_severity = 0.0

    [privacy]
    min_group_size = 5          # no unit-level figures about smaller groups
    aggregate_only = false      # hide person-level views entirely
    pseudonymize = false        # HMAC-SHA256 pseudonyms for every identity and name
    key_env = "ORGNET_PSEUDONYM_KEY"
    key_file = ""

    [app]
    host = "127.0.0.1"
    port = 8501
    auth = "none"               # or "password" ($ORGNET_APP_PASSWORD) or "oidc"
    password_env = "ORGNET_APP_PASSWORD"
"""

from __future__ import annotations

import datetime as dt
import inspect
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final

from orgnet.exceptions import ConfigError

__all__ = [
    "CONFIG_NAME",
    "REPORT_SECTIONS",
    "AnalysisConfig",
    "AppConfig",
    "Config",
    "PrivacyConfig",
    "ReportConfig",
    "find_config",
    "load_config",
]

CONFIG_NAME: Final = "orgnet.toml"
REPORT_SECTIONS: Final = (
    "overview", "findings", "alignment", "unit_matrix", "blind_spots", "gatekeeping", "people",
    "ownership", "trends", "data",
)
REPORT_FORMATS: Final = ("html", "md", "json", "csv", "parquet", "gexf", "graphml")


@dataclass(frozen=True)
class AnalysisConfig:
    """``[analysis]``: the formal level and window."""

    unit_kind: str = "team"
    since: dt.date | None = None
    until: dt.date | None = None


@dataclass(frozen=True)
class ReportConfig:
    """``[report]``: what the report contains."""

    sections: tuple[str, ...] = REPORT_SECTIONS
    formats: tuple[str, ...] = ("html", "md", "json", "csv")
    top_findings: int = 20
    min_severity: float = 0.0


@dataclass(frozen=True)
class PrivacyConfig:
    """``[privacy]``: minimum group size, aggregate-only mode, pseudonymisation."""

    min_group_size: int = 5
    aggregate_only: bool = False
    pseudonymize: bool = False
    key_env: str = "ORGNET_PSEUDONYM_KEY"
    key_file: str = ""


@dataclass(frozen=True)
class AppConfig:
    """``[app]``: where the dashboard listens and who may see it.

    ``auth``: ``"none"`` (default; the dashboard binds to loopback), ``"password"`` (a shared
    password read from the environment variable ``password_env``), or ``"oidc"`` (Streamlit's
    OpenID Connect login, configured in ``.streamlit/secrets.toml`` ``[auth]``).
    """

    host: str = "127.0.0.1"
    port: int = 8501
    auth: str = "none"
    password_env: str = "ORGNET_APP_PASSWORD"


@dataclass(frozen=True)
class Config:
    """The whole configuration; defaults when there is no file."""

    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    thresholds: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: ReportConfig = field(default_factory=ReportConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    app: AppConfig = field(default_factory=AppConfig)
    path: Path | None = None

    def rule_options(self, rule: str) -> dict[str, Any]:
        """Keyword options for a finding rule (``[thresholds.<kind>]``)."""
        return dict(self.thresholds.get(rule, {}))


_SECTIONS: Final[dict[str, type]] = {
    "analysis": AnalysisConfig, "report": ReportConfig, "privacy": PrivacyConfig, "app": AppConfig,
}


def _coerce(section: str, key: str, value: Any, expected: Any, where: str) -> Any:
    name = f"[{section}] {key}"
    text = str(expected)
    if "date" in text:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"{where}: {name} = {value!r}: expected a date YYYY-MM-DD") from None
    if "tuple" in text:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {name}: expected a list of strings")
        allowed = REPORT_SECTIONS if key == "sections" else REPORT_FORMATS
        bad = [v for v in value if v not in allowed]
        if bad:
            raise ConfigError(f"{where}: {name}: unknown value(s) {bad}; allowed: {list(allowed)}")
        return tuple(value)
    if text in ("bool",) or expected is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {name} = {value!r}: expected true or false")
        return value
    if text in ("int",) or expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {name} = {value!r}: expected an integer")
        return value
    if text in ("float",) or expected is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: {name} = {value!r}: expected a number")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {name} = {value!r}: expected a string")
    if section == "app" and key == "auth" and value not in ("none", "password", "oidc"):
        raise ConfigError(f"{where}: {name} = {value!r}: expected none, password or oidc")
    return value


def _rule_parameters() -> dict[str, set[str]]:
    """Finding kind -> keyword options its rule accepts."""
    import importlib

    from orgnet.analysis.registry import FINDING_RULES

    out: dict[str, set[str]] = {}
    for target in FINDING_RULES:
        module, _, fn = target.partition(":")
        func = getattr(importlib.import_module(module), fn)
        kind = fn.removeprefix("find_")
        params = inspect.signature(func).parameters
        out[kind] = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return out


def parse_config(data: dict[str, Any], *, where: str = "orgnet.toml") -> Config:
    """Validate a parsed TOML document into a :class:`Config` (unknown keys are errors)."""
    unknown = sorted(set(data) - {*_SECTIONS, "thresholds"})
    if unknown:
        raise ConfigError(f"{where}: unknown section [{unknown[0]}]; sections are "
                          f"{', '.join(sorted([*_SECTIONS, 'thresholds']))}")
    built: dict[str, Any] = {}
    for section, cls in _SECTIONS.items():
        raw = data.get(section, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        known = {f.name: f.type for f in fields(cls)}
        bad = sorted(set(raw) - set(known))
        if bad:
            raise ConfigError(f"{where}: unknown key {bad[0]!r} in [{section}]; keys are "
                              f"{', '.join(known)}")
        values = {k: _coerce(section, k, v, known[k], where) for k, v in raw.items()}
        built[section] = cls(**values)
    thresholds = data.get("thresholds", {})
    if not isinstance(thresholds, dict):
        raise ConfigError(f"{where}: [thresholds] must be a table of [thresholds.<kind>] tables")
    if thresholds:
        params = _rule_parameters()
        for kind, opts in thresholds.items():
            if kind not in params:
                raise ConfigError(f"{where}: unknown finding kind [thresholds.{kind}]; kinds are "
                                  f"{', '.join(sorted(params))}")
            if not isinstance(opts, dict):
                raise ConfigError(f"{where}: [thresholds.{kind}] must be a table")
            bad = sorted(set(opts) - params[kind])
            if bad:
                raise ConfigError(f"{where}: unknown key {bad[0]!r} in [thresholds.{kind}]; keys "
                                  f"are {', '.join(sorted(params[kind]))}")
    return Config(thresholds={k: dict(v) for k, v in thresholds.items()}, **built)


def find_config(workspace: Path | None) -> Path | None:
    """``WORKSPACE/orgnet.toml`` when it exists."""
    if workspace is not None and (workspace / CONFIG_NAME).is_file():
        return workspace / CONFIG_NAME
    return None


def load_config(path: str | Path | None = None, *, workspace: Path | None = None) -> Config:
    """Load ``path``, else the workspace's ``orgnet.toml``, else the defaults.

    Raises
    ------
    ConfigError
        When the file is missing (given explicitly), not TOML, or has an unknown or ill-typed key.
    """
    target = Path(path) if path is not None else find_config(workspace)
    if target is None:
        return Config()
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{target}: cannot read the configuration ({exc.strerror})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{target}: not valid TOML: {exc}") from exc
    cfg = parse_config(data, where=str(target))
    return Config(cfg.analysis, cfg.thresholds, cfg.report, cfg.privacy, cfg.app, target)
