"""Seeded sample organisation with planted ground truth.

:func:`generate` writes the native input files of a synthetic engineering organisation into a
folder, exactly as the importers expect them from a real company:

``hris.csv``
    Canonical HRIS CSV (FORMATS §16.2), effective-dated, with ``org``/``department``/``team``,
    managers, levels, locations, leavers, hires, a reorganisation and identity columns.
``git.log.gz``
    A saved ``git log`` of the monorepo ``exampleco/monorepo`` in the RS/US/GS format of
    ``FORMAT_commits.md`` (12 header fields, trailer block, numstat), newest first.
``github.jsonl.gz``
    Perceval GitHub ``pull_request`` items, one JSON envelope per line (``--json-line``).
``slack.zip``
    An official-layout Slack export (``users.json``, ``channels.json``, day files).
``CODEOWNERS``
    GitHub CODEOWNERS mapping areas to ``@exampleco/<team-slug>`` and a few ``@user`` owners.
``truth.json``
    What was planted: kind, people (employee ids), units (``org/department/team`` slug paths).

Normal structure: people work mostly inside their team, teammates review each other, the
owning team makes most changes in its areas, teams depend on a few other teams' libraries and
talk to them in help channels. On top of that, one instance of every finding kind is planted
at a configurable strength (``strength=0`` or ``null=True`` plants nothing).

Output is byte-identical for identical arguments: every random draw comes from
``random.Random`` streams seeded by strings, nothing depends on dict or set order, gzip
headers carry ``mtime=0`` and zip members a fixed timestamp. Generation streams month by
month, so memory stays bounded by one month of activity.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import random
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from orgnet.synth._chat import ChatGen, DeterministicZip, build_channels
from orgnet.synth._code import CodeGen, Tally
from orgnet.synth._org import (
    GITHUB_ORG,
    REPO,
    Org,
    build_org,
    finalize_segments,
    pick_leavers_and_promotions,
)
from orgnet.synth._plan import Plan, choose_plan

__all__ = ["FILES", "HRIS_COLUMNS", "SampleSummary", "generate"]

#: File names written into the output folder.
FILES = ("hris.csv", "git.log.gz", "github.jsonl.gz", "slack.zip", "CODEOWNERS", "truth.json")

#: Columns of ``hris.csv`` in order.
HRIS_COLUMNS = (
    "employee_id", "effective_date", "full_name", "preferred_name", "work_email", "other_emails",
    "manager_employee_id", "org", "department", "team", "title", "level", "location", "country",
    "timezone", "employment_type", "hire_date", "termination_date", "status", "github_login",
    "slack_user_id",
)


@dataclass(frozen=True, slots=True)
class SampleSummary:
    """What :func:`generate` wrote.

    Attributes
    ----------
    out, hris, git_log, github, slack, codeowners, truth
        The output folder and the path of each file.
    people, teams
        Distinct people in the HRIS (hires and leavers included) and teams.
    commits, prs, reviews, review_comments, messages
        Generated volumes (messages include thread replies and bot posts).
    events
        ``commits + prs + reviews + review_comments + messages``.
    planted
        Number of planted structures recorded in ``truth.json``.
    """

    out: Path
    hris: Path
    git_log: Path
    github: Path
    slack: Path
    codeowners: Path
    truth: Path
    people: int
    teams: int
    commits: int
    prs: int
    reviews: int
    review_comments: int
    messages: int
    events: int
    planted: int


def generate(
    out: Path,
    *,
    people: int = 150,
    months: int = 6,
    seed: int = 7,
    null: bool = False,
    strength: float = 1.0,
    start: dt.date = dt.date(2026, 1, 1),
) -> SampleSummary:
    """Write a synthetic organisation's input files into ``out``.

    Parameters
    ----------
    out
        Output folder (created if missing); the six files of :data:`FILES` are overwritten.
    people
        Distinct people in the org chart, hires and leavers included (>= 20; >= 100 unless
        ``null``).
    months
        Length of the period in calendar months (>= 2).
    seed
        Seed of every random stream: the same arguments give byte-identical files.
    null
        Plant nothing: the same people and teams with plain team structure and noise only.
    strength
        How strongly each structure is planted: 1.0 is clearly detectable, 0 is absent.
    start
        First day of the period.

    Returns
    -------
    SampleSummary
        Paths and volumes.

    Raises
    ------
    ValueError
        When the arguments cannot give a valid organisation.
    """
    if months < 2:
        raise ValueError(f"months={months}: the period needs at least 2 months")
    if people < 20 or (people < 100 and not null and strength > 0):
        raise ValueError(
            f"people={people}: need at least 20 people, and 100 to plant every finding kind"
        )
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength={strength}: expected a value between 0 and 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    org = build_org(seed, people, months, start)
    plan = choose_plan(org, seed=seed, active=not null, strength=strength)
    history = random.Random(f"orgnet-synth/{seed}/history")
    avoid = set(plan.people)
    pick_leavers_and_promotions(org, history, months, avoid)
    _rename_logins(org, history, avoid)
    finalize_segments(org)
    build_channels(org, plan, seed)

    def mix(pid: int, day: int) -> list[tuple[int, float]]:
        p = org.people[pid]
        team = p.segment(day).team
        if plan.active:
            share = min(0.95, 0.88 * plan.s)
            if pid == plan.mis_person:
                return [(team, 1 - share), (plan.mis_to, share)]
            if pid == plan.lag_person and day < plan.lag_day:
                return [(team, 1 - share), (plan.lag_to, share)]
        return [(team, 1.0)]

    paths = {name: out / name for name in FILES}
    with tempfile.TemporaryDirectory(prefix="orgnet-synth-") as tmp:
        with _gzip_writer(paths["github.jsonl.gz"]) as gh:
            code = CodeGen(org, plan, seed, gh, Path(tmp))
            zf = DeterministicZip(paths["slack.zip"], org.cal.end)
            chat = ChatGen(org, plan, seed, zf, code.tally, mix)
            zf.write("users.json", chat.users_json())
            zf.write("channels.json", chat.channels_json())
            for m in range(months):
                month_code = code.month(m, mix=mix)
                chat.month(m, month_code)
            zf.close()
        with _gzip_writer(paths["git.log.gz"]) as git:
            code.write_git(git)
    _write_hris(org, paths["hris.csv"])
    paths["CODEOWNERS"].write_text(_codeowners(org), encoding="utf-8")
    planted = _truth(org, plan, code.tally) if plan.active else []
    truth = {
        "seed": seed, "people": people, "months": months, "null": null, "strength": strength,
        "start": start.isoformat(), "end": org.cal.end.isoformat(),
        "github_repo": f"{GITHUB_ORG}/{REPO}", "planted": planted,
    }
    paths["truth.json"].write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    t = code.tally
    return SampleSummary(
        out=out, hris=paths["hris.csv"], git_log=paths["git.log.gz"],
        github=paths["github.jsonl.gz"], slack=paths["slack.zip"],
        codeowners=paths["CODEOWNERS"], truth=paths["truth.json"],
        people=len(org.people), teams=len(org.teams), commits=t.commits, prs=t.prs,
        reviews=t.reviews, review_comments=t.review_comments, messages=t.messages,
        events=t.commits + t.prs + t.reviews + t.review_comments + t.messages,
        planted=len(planted),
    )


class _gzip_writer:  # noqa: N801 - used like open()
    """A buffered gzip file with an empty name and ``mtime=0`` (reproducible bytes)."""

    def __init__(self, path: Path) -> None:
        self.raw = open(path, "wb")  # noqa: SIM115 - closed in __exit__
        self.gz = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, mtime=0, compresslevel=6)
        self.buf = io.BufferedWriter(self.gz, buffer_size=1 << 20)

    def __enter__(self) -> IO[bytes]:
        return self.buf

    def __exit__(self, *exc: object) -> None:
        self.buf.close()
        self.raw.close()


def _rename_logins(org: Org, rng: random.Random, avoid: set[int]) -> None:
    """One person in 75 (at least one) renamed their GitHub login during the period."""
    cands = [p for p in org.people if p.role == "ic" and p.idx not in avoid and p.hire_day < 0
             and p.leave_day is None and p.code_rate > 3]
    taken = {p.login for p in org.people}
    for p in rng.sample(cands, min(len(cands), max(1, len(org.people) // 75))):
        old = f"{p.login}-{rng.choice(['dev', 'code', 'gh', 'work'])}"
        if old in taken:
            continue
        taken.add(old)
        p.old_login = old
        p.rename_day = org.cal.n_days // 2 + rng.randint(-10, 10)


def _write_hris(org: Org, path: Path) -> None:
    cal = org.cal
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HRIS_COLUMNS)
    for p in org.people:
        rows = []
        for seg in p.segments:
            if p.leave_day is not None and seg.start > p.leave_day:
                continue
            # The history starts at the export window: rows for people hired earlier are
            # effective from the window's start (their hire_date column keeps the real date), so
            # a row never names a manager who was not employed yet.
            eff = max(p.hire_date, cal.start) if seg.start <= p.hire_day else cal.date(seg.start)
            rows.append((eff, seg, "active", ""))
        if p.leave_day is not None:
            term = cal.date(p.leave_day)
            rows.append((term + dt.timedelta(days=1), rows[-1][1], "terminated", term.isoformat()))
        for eff, seg, status, term_date in rows:
            team = org.teams[seg.team].name if seg.team >= 0 else ""
            dept = org.depts[seg.dept].name if seg.dept >= 0 else ""
            orgname = org.orgs[seg.org].name if seg.org >= 0 else ""
            manager = org.people[seg.manager].employee_id if seg.manager >= 0 else ""
            w.writerow((
                p.employee_id, eff.isoformat(), p.full_name, p.preferred_name, p.work_email,
                ";".join(p.other_emails), manager, orgname, dept, team, seg.title, seg.level,
                p.location, p.country, p.tz, p.employment_type, p.hire_date.isoformat(), term_date,
                status, p.login, p.slack_id,
            ))
    path.write_text(buf.getvalue(), encoding="utf-8")


def _codeowners(org: Org) -> str:
    lines = [
        f"# CODEOWNERS for {GITHUB_ORG}/{REPO} (synthetic sample organisation).",
        "# Last matching pattern wins.",
        "",
    ]
    for area in org.areas:
        if area.owner < 0:
            continue
        lines.append(f"/{area.path:<40} @{GITHUB_ORG}/{org.teams[area.owner].slug}")
    # A few files owned by individuals: each team's most active engineer owns its schema.
    rng = random.Random(f"orgnet-synth/{org.cal.start}/{len(org.people)}/owners")
    teams = rng.sample(org.teams, min(3, len(org.teams)))
    lines.append("")
    for t in sorted(teams, key=lambda x: x.idx):
        members = [org.people[i] for i in org.members(t.idx, org.cal.n_days - 1)]
        ics = [p for p in members if p.role == "ic" and p.idx not in org.reserved]
        if not ics:
            continue
        top = max(ics, key=lambda p: p.code_rate)
        area = org.areas[t.areas[0]]
        lines.append(f"/{area.files[0]:<40} @{top.login}")
    return "\n".join(lines) + "\n"


def _truth(org: Org, plan: Plan, tally: Tally) -> list[dict[str, Any]]:
    last = org.cal.n_days - 1
    emp = lambda i: org.people[i].employee_id  # noqa: E731
    unit = lambda t: org.unit_id(t, last)  # noqa: E731

    def med(values: list[float]) -> float | None:
        return round(statistics.median(values), 2) if values else None

    gk_in, gk_out = tally.gk_lat["in"], tally.gk_lat["out"]
    cr_in, cr_out = tally.gk_cr["in"], tally.gk_cr["out"]
    area = org.areas
    planted: list[dict[str, Any]] = [
        {
            "kind": "gatekeeper", "people": [emp(plan.gk_person)], "units": [unit(plan.gk_team)],
            "details": {
                "outsider_reviews": len(gk_out), "insider_reviews": len(gk_in),
                "median_hours_outsiders": med(gk_out), "median_hours_insiders": med(gk_in),
                "changes_requested_rate_outsiders": round(cr_out[0] / max(1, cr_out[1]), 3),
                "changes_requested_rate_insiders": round(cr_in[0] / max(1, cr_in[1]), 3),
                "source_units": [unit(t) for t in plan.gk_sources],
            },
        },
        {
            "kind": "review_bottleneck", "people": [emp(plan.bn_person)],
            "units": [unit(plan.bn_team)],
            "details": {
                "approvals": tally.bn_approvals[1],
                "approval_share": round(tally.bn_approvals[0] / max(1, tally.bn_approvals[1]), 3),
            },
        },
        {
            "kind": "blind_spot", "people": [], "units": [unit(plan.bs_a), unit(plan.bs_b)],
            "details": {
                "variant": "dependency_without_contact",
                "editing_unit": unit(plan.bs_a), "owning_unit": unit(plan.bs_b),
                "shared_area": area[_lib(org, plan.bs_b)].path,
                "changes_touching_shared_area": tally.bs_coedits,
            },
        },
        {
            "kind": "blind_spot", "people": [],
            "units": [unit(plan.os_t), unit(plan.os_o1), unit(plan.os_o2)],
            "details": {
                "variant": "one_sided_relationship",
                "dependent_unit": unit(plan.os_t), "parent_unit": org.dept_unit_id(plan.os_dept),
                "talks_to": unit(plan.os_o1), "silent_with": unit(plan.os_o2),
                "changes_touching": {unit(plan.os_o1): tally.os_coedits["o1"],
                                     unit(plan.os_o2): tally.os_coedits["o2"]},
            },
        },
        {
            "kind": "silo", "people": [], "units": [unit(plan.silo)],
            "details": {
                "outside_areas": [area[_lib(org, t)].path for t in plan.silo_targets],
                "changes_touching_outside": tally.silo_coedits,
            },
        },
        {
            "kind": "informal_team", "people": [emp(i) for i in plan.informal_people],
            "units": sorted({unit(org.people[i].segment(last).team) for i in plan.informal_people}),
            "details": {
                "channel": next(c.name for c in org.channels if c.kind == "informal"),
                "shared_area": area[plan.informal_area].path,
                "shared_area_changes": tally.labs_changes, "channel_messages": tally.informal_msgs,
            },
        },
        {
            "kind": "misaligned_person", "people": [emp(plan.mis_person)],
            "units": [unit(plan.mis_from), unit(plan.mis_to)],
            "details": {"formal_unit": unit(plan.mis_from), "works_with": unit(plan.mis_to),
                        "planned_share_with": round(min(0.95, 0.88 * plan.s), 3)},
        },
        {
            "kind": "hidden_influencer", "people": [emp(plan.hi_person)],
            "units": [unit(org.people[plan.hi_person].segment(last).team)],
            "details": {
                "level": org.people[plan.hi_person].segment(last).level,
                "units_reached": [unit(t) for t in plan.hi_teams],
                "cross_unit_reviews": tally.hi_reviews,
            },
        },
        {
            "kind": "information_drought", "people": [], "units": [unit(plan.drought_team)],
            "details": {
                "channel": next(c.name for c in org.channels if c.kind == "drought"),
                "messages": tally.drought_msgs, "participants": len(tally.drought_people),
                "participant_units": sorted(
                    {unit(org.people[i].segment(last).team) for i in plan.drought_people}),
            },
        },
        {
            "kind": "knowledge_island", "people": [emp(plan.island_person)],
            "units": [unit(plan.island_team)],
            "details": {
                "area": area[plan.island_area].path, "changes": tally.island[1],
                "author_share": round(tally.island[0] / max(1, tally.island[1]), 3),
            },
        },
        {
            "kind": "ownership_drift", "people": [],
            "units": [unit(plan.drift_owner), unit(plan.drift_actual)],
            "details": {
                "area": area[plan.drift_area].path, "owner_unit": unit(plan.drift_owner),
                "shadow_owner_unit": unit(plan.drift_actual), "changes": tally.drift[1],
                "owner_share": round(tally.drift[0] / max(1, tally.drift[1]), 3),
            },
        },
        {
            "kind": "org_change_lag", "people": [emp(plan.lag_person)],
            "units": [org.unit_id(plan.lag_from, 0), unit(plan.lag_to)],
            "details": {
                "informal_since": org.cal.start.isoformat(),
                "formal_move": org.cal.date(plan.lag_day).isoformat(),
                "lag_days": plan.lag_day,
                "from_unit": org.unit_id(plan.lag_from, 0), "to_unit": unit(plan.lag_to),
            },
        },
    ]
    return planted


def _lib(org: Org, team: int) -> int:
    return next(
        a for a in org.teams[team].areas
        if org.areas[a].kind == "libs" and not org.areas[a].special
    )
