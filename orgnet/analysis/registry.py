"""The list of analyses and finding rules, and a runner that writes their outputs.

``run_analyses`` builds one :class:`AnalysisContext` (so graph views are built once), computes every
analysis frame and every finding rule, and optionally writes ``findings.json`` plus one Parquet and
one CSV per analysis.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import polars as pl

from orgnet.analysis._context import AnalysisContext
from orgnet.dataset import Dataset, Window
from orgnet.export import write_safe_csv
from orgnet.findings import Finding, findings_document, sort_findings, write_findings
from orgnet.graph.cache import ViewCache

__all__ = ["ANALYSES", "FINDING_RULES", "AnalysisRun", "AnalysisSpec", "default_threads",
           "run_analyses"]


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis: ``module:function`` returning a labelled frame."""

    name: str
    target: str
    description: str
    #: Rough seconds at 10,000 people (``make bench``). Only orders the work when analyses run
    #: side by side: the longest start first, so none is left running alone at the end.
    cost: float = 0.0

    def load(self) -> Callable[..., pl.DataFrame]:
        """The analysis function."""
        module, _, fn = self.target.partition(":")
        loaded: Callable[..., pl.DataFrame] = getattr(importlib.import_module(module), fn)
        return loaded


ANALYSES: Final[tuple[AnalysisSpec, ...]] = (
    AnalysisSpec("alignment", "orgnet.analysis.alignment:alignment_scores",
                 "NMI/ARI between collaboration communities and formal units", cost=3.9),
    AnalysisSpec("communities", "orgnet.analysis.alignment:communities",
                 "Louvain communities of the collaboration graph"),
    AnalysisSpec("unit_fragmentation", "orgnet.analysis.alignment:unit_fragmentation",
                 "how many communities each unit's people fall into"),
    AnalysisSpec("informal_teams", "orgnet.analysis.alignment:informal_teams",
                 "cross-unit groups tied far above their units' baseline"),
    AnalysisSpec("misaligned_people", "orgnet.analysis.alignment:misaligned_people",
                 "people who mostly work with another unit"),
    AnalysisSpec("org_change_lag", "orgnet.analysis.alignment:org_change_lag",
                 "informal moves the org chart followed months later", cost=8.0),
    AnalysisSpec("unit_matrix", "orgnet.analysis.team_matrix:unit_pair_matrix",
                 "unit x unit collaboration weight"),
    AnalysisSpec("help_balance", "orgnet.analysis.team_matrix:help_balance",
                 "reviews given to vs received from other units"),
    AnalysisSpec("ei_index", "orgnet.analysis.team_matrix:ei_index",
                 "E-I index per unit against its expectation"),
    AnalysisSpec("congruence", "orgnet.analysis.blind_spots:unit_congruence",
                 "socio-technical congruence per unit pair"),
    AnalysisSpec("person_congruence", "orgnet.analysis.blind_spots:person_congruence",
                 "coordination partners met per person"),
    AnalysisSpec("one_sided", "orgnet.analysis.blind_spots:one_sided_relationships",
                 "units that talk to only one of several units they depend on"),
    AnalysisSpec("information_droughts", "orgnet.analysis.blind_spots:information_droughts",
                 "conversations about a unit's code without the unit", cost=1.9),
    AnalysisSpec("approval_concentration", "orgnet.analysis.gatekeeping:approval_concentration",
                 "top approver share, HHI and bus factor per unit", cost=3.3),
    AnalysisSpec("outsider_friction", "orgnet.analysis.gatekeeping:outsider_friction",
                 "reviewer latency and harshness on outsiders vs insiders", cost=4.5),
    AnalysisSpec("gate_share", "orgnet.analysis.gatekeeping:gate_share",
                 "share of gate events (approvals, Acked-by) per person"),
    AnalysisSpec("brokerage", "orgnet.analysis.brokerage:gould_fernandez",
                 "Gould-Fernandez brokerage roles per person"),
    AnalysisSpec("structural_holes", "orgnet.analysis.brokerage:structural_holes",
                 "Burt constraint and effective size per person", cost=3.4),
    AnalysisSpec("influence", "orgnet.analysis.influence:influence",
                 "PageRank, betweenness, units bridged per person", cost=6.0),
    AnalysisSpec("area_ownership", "orgnet.analysis.ownership:area_ownership",
                 "contributors, main share and owner share per owned area", cost=7.5),
    AnalysisSpec("trends", "orgnet.analysis.trends:trends",
                 "alignment, E-I, congruence and finding counts per quarter", cost=12.0),
)

#: ``module:function`` of every finding rule, ``(ctx) -> list[Finding]``.
FINDING_RULES: Final[tuple[str, ...]] = (
    "orgnet.analysis.gatekeeping:find_gatekeeper",
    "orgnet.analysis.gatekeeping:find_review_bottleneck",
    "orgnet.analysis.blind_spots:find_blind_spot",
    "orgnet.analysis.team_matrix:find_silo",
    "orgnet.analysis.alignment:find_informal_team",
    "orgnet.analysis.alignment:find_misaligned_person",
    "orgnet.analysis.influence:find_hidden_influencer",
    "orgnet.analysis.blind_spots:find_information_drought",
    "orgnet.analysis.ownership:find_knowledge_island",
    "orgnet.analysis.ownership:find_ownership_drift",
    "orgnet.analysis.alignment:find_org_change_lag",
)


@dataclass
class AnalysisRun:
    """The frames, findings and timings of one run."""

    frames: dict[str, pl.DataFrame]
    findings: list[Finding]
    window: Window
    unit_kind: str
    timings: dict[str, float] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)


def default_threads() -> int:
    """Analyses run side by side by default: two, or one on a single usable core.

    More would help little on the benchmark's two cores and add each analysis's working memory
    to the peak (100,000 people: 5 GiB for the analyses one at a time).
    """
    from orgnet.pipeline import usable_cores

    return min(2, usable_cores())


def _load_rule(target: str) -> Callable[..., list[Finding]]:
    module, _, fn = target.partition(":")
    rule: Callable[..., list[Finding]] = getattr(importlib.import_module(module), fn)
    return rule


def _csv_ready(df: pl.DataFrame) -> pl.DataFrame:
    """Lists become ``;``-joined strings (CSV has no lists)."""
    return df.with_columns(
        pl.col(c).cast(pl.List(pl.String)).list.join(";")
        for c, t in df.schema.items() if isinstance(t, pl.List)
    )


def run_analyses(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str = "team",
    out: str | Path | None = None,
    only: Sequence[str] | None = None,
    min_group_size: int = 5,
    progress: Callable[[str], None] | None = None,
    rule_options: Mapping[str, Mapping[str, Any]] | None = None,
    view_cache: ViewCache | None = None,
    threads: int | None = None,
) -> AnalysisRun:
    """Run every analysis and finding rule.

    Parameters
    ----------
    data
        The dataset (or a prepared context).
    window
        Events considered.
    unit_kind
        Formal level to compare with.
    out
        When given, write ``findings.json`` and ``<analysis>.parquet`` / ``.csv`` there.
    only
        Names of analyses to compute (findings rules always run).
    min_group_size
        Privacy threshold for unit-level findings.
    progress
        Called with the name of each step as it starts.
    rule_options
        Keyword options per finding kind (``{"blind_spot": {"max_congruence": 0.15}}``), as in
        the ``[thresholds.<kind>]`` tables of ``orgnet.toml``.
    view_cache
        Graph views kept on disk between runs (ignored when ``data`` is a context, which has
        its own).
    threads
        Analyses computed side by side (default: :func:`default_threads`). Much of an analysis
        is Python, Louvain or scipy on one core, so two at a time keep two cores busy; values
        and graph views they share are computed once (:func:`~orgnet.analysis._context.cached_in`).
        The results do not depend on it. ``timings`` are then each analysis's own wall time,
        overlapping.

    Returns
    -------
    AnalysisRun
    """
    if isinstance(data, AnalysisContext):
        ctx = data
    else:
        ctx = AnalysisContext(data, window=window or Window(), unit_kind=unit_kind,
                              min_group_size=min_group_size, view_cache=view_cache)
    frames: dict[str, pl.DataFrame] = {}
    timings: dict[str, float] = {}
    specs = [spec for spec in ANALYSES if not only or spec.name in only]

    def compute(spec: AnalysisSpec) -> tuple[pl.DataFrame, float]:
        if progress:
            progress(spec.name)
        started = time.perf_counter()
        frame = spec.load()(ctx)
        return frame, time.perf_counter() - started

    n_threads = default_threads() if threads is None else max(1, threads)
    if n_threads == 1 or len(specs) <= 1:
        for spec in specs:
            frames[spec.name], timings[spec.name] = compute(spec)
    else:
        with ThreadPoolExecutor(n_threads, thread_name_prefix="orgnet-analysis") as pool:
            futures: dict[str, Future[tuple[pl.DataFrame, float]]] = {}
            for spec in sorted(specs, key=lambda sp: -sp.cost):  # stable: ties keep list order
                futures[spec.name] = pool.submit(compute, spec)
            try:
                for spec in specs:  # frames in the list's order, whatever finished first
                    frames[spec.name], timings[spec.name] = futures[spec.name].result()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    findings: list[Finding] = []
    for target in FINDING_RULES:
        name = target.partition(":")[2]
        if progress:
            progress(name)
        started = time.perf_counter()
        options = dict((rule_options or {}).get(name.removeprefix("find_"), {}))
        findings.extend(_load_rule(target)(ctx, **options))
        timings[name] = time.perf_counter() - started
    findings = sort_findings(findings)
    doc = findings_document(findings, window=ctx.window.as_dict(),
                            extra={"unit_kind": ctx.unit_kind})
    run = AnalysisRun(frames, findings, ctx.window, ctx.unit_kind, timings, doc)
    if out is not None:
        target_dir = Path(out)
        target_dir.mkdir(parents=True, exist_ok=True)
        write_findings(target_dir / "findings.json", doc)
        for name, frame in frames.items():
            frame.write_parquet(target_dir / f"{name}.parquet")
            write_safe_csv(_csv_ready(frame), target_dir / f"{name}.csv")
    return run
