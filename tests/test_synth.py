"""Tests of the sample-organisation generator (orgnet.synth).

The planted structures are checked from the written files alone (git log, Perceval items,
Slack export, HRIS, CODEOWNERS), with small parsers written here, independently of the
generator's own bookkeeping.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import re
import statistics
import zipfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from scipy.stats import false_discovery_control, fisher_exact, mannwhitneyu

from orgnet._text import slugify
from orgnet.synth import FILES, HRIS_COLUMNS, generate

KINDS = {
    "gatekeeper", "review_bottleneck", "blind_spot", "silo", "informal_team",
    "misaligned_person", "hidden_influencer", "information_drought", "knowledge_island",
    "ownership_drift", "org_change_lag",
}
ARGS: dict[str, Any] = {"people": 100, "months": 3, "seed": 11}


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("planted")
    generate(out, **ARGS)
    return out


@pytest.fixture(scope="module")
def null_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("null")
    generate(out, **ARGS, null=True)
    return out


# ---------------------------------------------------------------------------- small parsers
def read_hris(folder: Path) -> list[dict[str, str]]:
    with open(folder / "hris.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def current_rows(rows: list[dict[str, str]], day: str) -> dict[str, dict[str, str]]:
    """The row valid on ``day`` for every person employed on that day."""
    out: dict[str, dict[str, str]] = {}
    for row in sorted(rows, key=lambda r: (r["employee_id"], r["effective_date"])):
        if row["effective_date"] <= day:
            out[row["employee_id"]] = row
    return {k: v for k, v in out.items() if v["status"] == "active" and v["hire_date"] <= day}


def unit_of(row: dict[str, str]) -> str:
    return "/".join(slugify(row[c]) for c in ("org", "department", "team"))


def parse_git(folder: Path) -> list[dict[str, Any]]:
    raw = gzip.decompress((folder / "git.log.gz").read_bytes()).decode("utf-8")
    commits = []
    for rec in raw.split("\x1e")[1:]:
        head, _, tail = rec.partition("\x1d")
        fields = head.split("\x1f")
        assert len(fields) == 12, fields
        files = []
        for line in tail.strip("\n").split("\n"):
            added, deleted, path = line.split("\t")
            files.append((int(added), int(deleted), path))
        commits.append({
            "sha": fields[0], "parents": fields[1].split(), "an": fields[2], "ae": fields[3],
            "aI": fields[6], "cn": fields[7], "cI": fields[9], "subject": fields[10],
            "trailers": [t for t in fields[11].split("\n") if t], "files": files,
        })
    return commits


def read_prs(folder: Path) -> list[dict[str, Any]]:
    with gzip.open(folder / "github.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def codeowners(folder: Path) -> dict[str, str]:
    """Directory pattern -> team slug (team rules only)."""
    out = {}
    for line in (folder / "CODEOWNERS").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].endswith("/") and "/" in parts[1]:
            out[parts[0].strip("/") + "/"] = parts[1].split("/", 1)[1]
    return out


def area_of(path: str) -> str:
    a, b = path.split("/")[:2]
    return f"{a}/{b}/"


def hours(a: str, b: str) -> float:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return (dt.datetime.strptime(b, fmt) - dt.datetime.strptime(a, fmt)).total_seconds() / 3600


class People:
    """Identity maps built from the HRIS identity columns only."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.by_email: dict[str, str] = {}
        self.by_login: dict[str, str] = {}
        self.by_slack: dict[str, str] = {}
        self.team_slug: dict[str, str] = {}
        self.last: dict[str, dict[str, str]] = {}
        for row in sorted(rows, key=lambda r: (r["employee_id"], r["effective_date"])):
            eid = row["employee_id"]
            self.by_email[row["work_email"].lower()] = eid
            for email in filter(None, row["other_emails"].split(";")):
                self.by_email[email.lower()] = eid
            self.by_login[row["github_login"].lower()] = eid
            self.by_slack[row["slack_user_id"]] = eid
            self.last[eid] = row
            self.team_slug[eid] = slugify(row["team"]) if row["team"] else ""


# ---------------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_bytes(planted: Path, tmp_path: Path) -> None:
    generate(tmp_path, **ARGS)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (planted / name).read_bytes(), name


def test_different_seed_differs(planted: Path, tmp_path: Path) -> None:
    generate(tmp_path, **{**ARGS, "seed": 12})
    for name in FILES:
        assert (tmp_path / name).read_bytes() != (planted / name).read_bytes(), name


def test_null_keeps_the_same_people_and_teams(planted: Path, null_org: Path) -> None:
    a = read_hris(planted)
    b = read_hris(null_org)
    assert {r["employee_id"] for r in a} == {r["employee_id"] for r in b}
    assert {r["team"] for r in a} == {r["team"] for r in b}


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="months"):
        generate(Path("/nonexistent"), months=1)
    with pytest.raises(ValueError, match="people"):
        generate(Path("/nonexistent"), people=90)
    with pytest.raises(ValueError, match="strength"):
        generate(Path("/nonexistent"), strength=2.0)


# ---------------------------------------------------------------------------- truth
def test_truth_lists_every_kind(planted: Path) -> None:
    truth = json.loads((planted / "truth.json").read_text())
    assert {k: truth[k] for k in ("seed", "people", "months", "null", "strength")} == {
        "seed": 11, "people": 100, "months": 3, "null": False, "strength": 1.0}
    kinds = Counter(p["kind"] for p in truth["planted"])
    assert set(kinds) == KINDS
    variants = {p["details"]["variant"] for p in truth["planted"] if p["kind"] == "blind_spot"}
    assert variants == {"dependency_without_contact", "one_sided_relationship"}
    rows = read_hris(planted)
    ids = {r["employee_id"] for r in rows}
    units = {unit_of(r) for r in rows if r["team"]}
    for p in truth["planted"]:
        assert set(p["people"]) <= ids, p
        assert p["units"] and set(p["units"]) <= units, p


def test_null_and_zero_strength_plant_nothing(null_org: Path, tmp_path: Path) -> None:
    assert json.loads((null_org / "truth.json").read_text())["planted"] == []
    generate(tmp_path, **ARGS, strength=0.0)
    assert json.loads((tmp_path / "truth.json").read_text())["planted"] == []


# ---------------------------------------------------------------------------- HRIS
def test_hris_structure(planted: Path) -> None:
    rows = read_hris(planted)
    assert tuple(rows[0]) == HRIS_COLUMNS
    truth = json.loads((planted / "truth.json").read_text())
    start, end = truth["start"], truth["end"]
    month_starts = sorted({r["effective_date"] for r in rows if start <= r["effective_date"] < end}
                          | {start})
    for day in month_starts:
        cur = current_rows(rows, day)
        sizes = Counter(unit_of(r) for r in cur.values() if r["team"])
        assert sizes and all(4 <= n <= 12 for n in sizes.values()), (day, sizes)
        reports = Counter(r["manager_employee_id"] for r in cur.values() if r["manager_employee_id"])
        assert set(reports) <= set(cur), day  # managers are real, employed people
        for eid, row in cur.items():
            if row["level"].startswith("M"):
                assert reports[eid] >= 1, (day, eid)
        roots = [e for e, r in cur.items() if not r["manager_employee_id"]]
        assert len(roots) == 1
    # Three levels: orgs hold departments hold teams; team names are unique.
    team_paths: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r["team"]:
            assert r["org"] and r["department"]
            team_paths[r["team"]].add(unit_of(r))
    assert len({slugify(t) for t in team_paths}) == len(team_paths)
    # A reorganisation: one team moves to another department during the period.
    moved = [t for t, paths in team_paths.items() if len(paths) == 2]
    assert moved
    # Leavers, hires, identity columns.
    terminated = [r for r in rows if r["status"] == "terminated"]
    assert terminated and all(start <= r["termination_date"] < end for r in terminated)
    hires = {r["employee_id"] for r in rows if start <= r["hire_date"] < end}
    assert hires
    last = {r["employee_id"]: r for r in rows}
    emails = [r["work_email"] for r in last.values()]
    assert len(emails) == len(set(emails))
    assert all(r["github_login"] and r["slack_user_id"].startswith("U") for r in last.values())
    assert any(r["other_emails"] for r in last.values())
    assert {r["level"] for r in rows} >= {"L3", "L4", "L5", "M1", "M2", "M3"}


# ---------------------------------------------------------------------------- git
def test_git_log_format(planted: Path) -> None:
    raw = gzip.decompress((planted / "git.log.gz").read_bytes())
    assert raw.startswith(b"\x1e")
    commits = parse_git(planted)
    assert len(commits) > 500
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
    for i, c in enumerate(commits):
        assert re.fullmatch(r"[0-9a-f]{40}", c["sha"])
        assert iso.match(c["aI"]) and iso.match(c["cI"])
        assert c["files"]
        if i + 1 < len(commits):  # newest first, one linear chain
            assert c["parents"] == [commits[i + 1]["sha"]]
            assert dt.datetime.fromisoformat(c["cI"]) >= dt.datetime.fromisoformat(
                commits[i + 1]["cI"])
        for t in c["trailers"]:
            assert re.fullmatch(
                r"(Signed-off-by|Co-authored-by|Reviewed-by|Acked-by): .+ <[^>]+@[^>]+>", t), t
    keys = Counter(t.split(":")[0] for c in commits for t in c["trailers"])
    assert {"Signed-off-by", "Co-authored-by", "Reviewed-by"} <= set(keys)
    assert any(c["cn"] == "GitHub" for c in commits)
    assert any(c["an"] == "dependabot[bot]" for c in commits)
    # Bodies are filler: only the generic subject, never a trailer-looking line in it.
    assert all("\n" not in c["subject"] for c in commits)


def test_commit_identities_resolve_through_hris(planted: Path) -> None:
    people = People(read_hris(planted))
    commits = parse_git(planted)
    emails = {c["ae"].lower() for c in commits if c["an"] != "dependabot[bot]"}
    assert emails <= set(people.by_email)
    # Identity mess: personal and noreply addresses are in use.
    assert any(e.endswith("@example.net") for e in emails)
    assert any(e.endswith("@users.noreply.github.com") for e in emails)


def test_activity_is_heavy_tailed(planted: Path) -> None:
    people = People(read_hris(planted))
    commits = parse_git(planted)
    per = Counter(people.by_email[c["ae"].lower()] for c in commits
                  if c["ae"].lower() in people.by_email)
    counts = sorted(per.values())
    tenth = max(1, len(counts) // 10)
    top, bottom = counts[-tenth:], counts[:tenth]
    assert statistics.mean(top) >= 10 * statistics.mean(bottom)
    assert counts[-1] >= 20 * counts[0]


def test_working_hours_and_quiet_weekends(planted: Path) -> None:
    commits = parse_git(planted)
    local = [dt.datetime.fromisoformat(c["aI"]) for c in commits if c["an"] != "dependabot[bot]"]
    weekend = sum(d.weekday() >= 5 for d in local) / len(local)
    office = sum(8 <= d.hour < 19 for d in local) / len(local)
    assert weekend < 0.05 and office > 0.85


# ---------------------------------------------------------------------------- GitHub
def test_github_items(planted: Path) -> None:
    items = read_prs(planted)
    assert len(items) > 500
    people = People(read_hris(planted))
    logins_by_id: dict[int, list[str]] = defaultdict(list)
    states: Counter[str] = Counter()
    bots = set()
    for item in items:
        assert item["backend_name"] == "GitHub" and item["category"] == "pull_request"
        assert item["search_fields"]["item_id"] == str(item["data"]["id"])
        pr = item["data"]
        users = [pr["user"]] + [r["user"] for r in pr["reviews_data"]]
        if isinstance(pr["review_comments_data"], list):
            users += [c["user"] for c in pr["review_comments_data"]]
        for u in users:
            if u["type"] == "Bot":
                bots.add(u["login"])
                continue
            if u["login"] not in logins_by_id[u["id"]]:
                logins_by_id[u["id"]].append(u["login"])
        for r in pr["reviews_data"]:
            states[r["state"]] += 1
            assert r["submitted_at"] >= pr["created_at"]
        if pr["merged"]:
            assert pr["merged_at"] and pr["merge_commit_sha"]
    assert {"APPROVED", "CHANGES_REQUESTED", "COMMENTED"} <= set(states)
    assert "dependabot[bot]" in bots and any(b.endswith("-ci[bot]") for b in bots)
    # A renamed login: same numeric id, two logins; the HRIS has the newer one.
    renamed = [v for v in logins_by_id.values() if len(v) > 1]
    assert renamed
    for logins in renamed:
        assert logins[-1] in people.by_login and logins[0] not in people.by_login
    unknown = [v for v in logins_by_id.values() if v[-1] not in people.by_login]
    assert not unknown


# ---------------------------------------------------------------------------- Slack
def test_slack_export_layout(planted: Path) -> None:
    with zipfile.ZipFile(planted / "slack.zip") as zf:
        names = zf.namelist()
        assert names[:2] == ["users.json", "channels.json"]
        assert len(names) == len(set(names))
        assert {i.date_time for i in zf.infolist()} == {(2026, 4, 1, 0, 0, 0)}
        users = json.loads(zf.read("users.json"))
        channels = json.loads(zf.read("channels.json"))
        ids = {u["id"] for u in users}
        assert any(u["is_bot"] for u in users) and any(u["deleted"] for u in users)
        folders = {n.split("/")[0] for n in names[2:]}
        assert folders <= {c["name"] for c in channels}
        kinds: Counter[str] = Counter()
        for name in names[2:]:
            assert re.fullmatch(r"[a-z0-9-]+/\d{4}-\d\d-\d\d\.json", name)
            msgs = json.loads(zf.read(name))
            day = name.split("/")[1][:-5]
            for m in msgs:
                ts = dt.datetime.fromtimestamp(float(m["ts"]), tz=dt.UTC)
                assert ts.strftime("%Y-%m-%d") == day
                kinds[m.get("subtype", "")] += 1
                if "user" in m:
                    assert m["user"] in ids
                if m.get("thread_ts") and m["thread_ts"] != m["ts"]:
                    kinds["reply"] += 1
                    assert m["parent_user_id"] in ids
                if "<@U" in m.get("text", ""):
                    kinds["mention"] += 1
                if "reactions" in m:
                    kinds["reaction"] += 1
    assert {"", "bot_message", "channel_join", "reply", "mention", "reaction"} <= set(kinds)
    prefixes = {c["name"].split("-")[0] for c in channels}
    assert {"general", "t", "help", "d", "oncall", "inc", "proj"} <= prefixes


def test_slack_identities_resolve_through_hris(planted: Path) -> None:
    people = People(read_hris(planted))
    with zipfile.ZipFile(planted / "slack.zip") as zf:
        users = json.loads(zf.read("users.json"))
    humans = [u for u in users if not u["is_bot"] and u["id"] != "USLACKBOT"]
    assert {u["id"] for u in humans} == set(people.by_slack)
    differing = [u for u in humans
                 if u["real_name"] != people.last[people.by_slack[u["id"]]]["full_name"]]
    assert differing  # a Slack name differs from the HRIS name; the id still links them


# ---------------------------------------------------------------------------- planted signals
def _changes_by_area(folder: Path) -> dict[str, list[str]]:
    people = People(read_hris(folder))
    out: dict[str, list[str]] = defaultdict(list)
    for c in parse_git(folder):
        eid = people.by_email.get(c["ae"].lower())
        if eid is None:
            continue
        for area in dict.fromkeys(area_of(f[2]) for f in c["files"]):
            out[area].append(eid)
    return out


def test_knowledge_island_and_ownership_drift_in_git(planted: Path) -> None:
    truth = {p["kind"]: p for p in json.loads((planted / "truth.json").read_text())["planted"]}
    rows = read_hris(planted)
    people = People(rows)
    by_area = _changes_by_area(planted)
    island = truth["knowledge_island"]
    authors = Counter(by_area[island["details"]["area"]])
    assert sum(authors.values()) >= 30
    assert authors[island["people"][0]] / sum(authors.values()) >= 0.85
    drift = truth["ownership_drift"]
    area = drift["details"]["area"]
    owner_slug = drift["units"][0].split("/")[-1]
    assert codeowners(planted)[area] == owner_slug
    authors = Counter(by_area[area])
    owner_share = sum(n for e, n in authors.items() if people.team_slug[e] == owner_slug)
    assert sum(authors.values()) >= 30 and owner_share / sum(authors.values()) < 0.15


def _approvals_by_unit(folder: Path) -> dict[str, Counter[str]]:
    """Approvals per owning team of the merged change's main area (via the squash commit)."""
    people = People(read_hris(folder))
    owners = codeowners(folder)
    files = {c["sha"]: c["files"] for c in parse_git(folder)}
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for item in read_prs(folder):
        pr = item["data"]
        if not pr["merged"] or pr["merge_commit_sha"] not in files:
            continue
        areas = Counter(area_of(f[2]) for f in files[pr["merge_commit_sha"]])
        owner = owners.get(areas.most_common(1)[0][0])
        if owner is None:
            continue
        for r in pr["reviews_data"]:
            if r["state"] == "APPROVED" and r["user"]["type"] == "User":
                eid = people.by_login.get(r["user"]["login"].lower())
                if eid:
                    out[owner][eid] += 1
    return out


def test_review_bottleneck_in_data(planted: Path) -> None:
    truth = {p["kind"]: p for p in json.loads((planted / "truth.json").read_text())["planted"]}
    bn = truth["review_bottleneck"]
    approvals = _approvals_by_unit(planted)[bn["units"][0].split("/")[-1]]
    assert sum(approvals.values()) >= 30
    assert approvals[bn["people"][0]] / sum(approvals.values()) >= 0.7


def test_gatekeeper_in_data(planted: Path) -> None:
    truth = {p["kind"]: p for p in json.loads((planted / "truth.json").read_text())["planted"]}
    gk = truth["gatekeeper"]
    people = People(read_hris(planted))
    gid = gk["people"][0]
    team = people.team_slug[gid]
    lat: dict[bool, list[float]] = {True: [], False: []}
    cr: dict[bool, list[int]] = {True: [], False: []}
    for item in read_prs(planted):
        pr = item["data"]
        author = people.by_login.get(pr["user"]["login"].lower())
        mine = [r for r in pr["reviews_data"]
                if people.by_login.get(r["user"]["login"].lower()) == gid]
        if author is None or not mine:
            continue
        outsider = people.team_slug[author] != team
        lat[outsider].append(hours(pr["created_at"], mine[0]["submitted_at"]))
        cr[outsider].append(any(r["state"] == "CHANGES_REQUESTED" for r in mine))
    assert len(lat[True]) >= 15 and len(lat[False]) >= 15
    assert statistics.median(lat[True]) >= 3 * statistics.median(lat[False])
    assert statistics.mean(cr[True]) - statistics.mean(cr[False]) >= 0.3


def test_information_drought_in_data(planted: Path) -> None:
    truth = {p["kind"]: p for p in json.loads((planted / "truth.json").read_text())["planted"]}
    drought = truth["information_drought"]
    unit_slug = drought["units"][0].split("/")[-1]
    people = People(read_hris(planted))
    with zipfile.ZipFile(planted / "slack.zip") as zf:
        users = {u["id"] for u in json.loads(zf.read("users.json"))}
        msgs = [m for n in zf.namelist() if n.startswith(drought["details"]["channel"] + "/")
                for m in json.loads(zf.read(n))]
    assert users
    posters = {m["user"] for m in msgs if "user" in m}
    refs = [m for m in msgs if f"/{unit_slug}/" in m["text"] or "/pull/" in m["text"]]
    assert len(msgs) >= 15 and len(posters) >= 4 and len(refs) >= 5
    assert all(people.team_slug[people.by_slack[u]] != unit_slug for u in posters)


def test_null_organisation_has_plain_structure(null_org: Path) -> None:
    by_area = _changes_by_area(null_org)
    people = People(read_hris(null_org))
    owners = codeowners(null_org)
    for area, authors in by_area.items():
        if len(authors) < 15:
            continue
        top = Counter(authors).most_common(1)[0][1] / len(authors)
        assert top < 0.8, (area, top)  # no knowledge island
        if area in owners:
            share = sum(people.team_slug[e] == owners[area] for e in authors) / len(authors)
            assert share >= 0.3, (area, share)  # well above an ownership-drift share
    for unit, approvals in _approvals_by_unit(null_org).items():
        total = sum(approvals.values())
        if total >= 20:
            assert max(approvals.values()) / total < 0.6, unit  # no review bottleneck


def _reviewer_sides(folder: Path) -> dict[str, dict[bool, tuple[list[float], list[int]]]]:
    """Per reviewer: (first-review hours, changes-requested flags) for insiders and outsiders."""
    people = People(read_hris(folder))
    out: dict[str, dict[bool, tuple[list[float], list[int]]]] = defaultdict(
        lambda: {True: ([], []), False: ([], [])})
    for item in read_prs(folder):
        pr = item["data"]
        author = people.by_login.get(pr["user"]["login"].lower())
        if author is None:
            continue
        first: dict[str, dict[str, Any]] = {}
        flagged: dict[str, bool] = defaultdict(bool)
        for r in pr["reviews_data"]:
            eid = people.by_login.get(r["user"]["login"].lower())
            if eid is None:
                continue
            first.setdefault(eid, r)
            flagged[eid] |= r["state"] == "CHANGES_REQUESTED"
        for eid, r in first.items():
            side = out[eid][people.team_slug[eid] != people.team_slug[author]]
            side[0].append(hours(pr["created_at"], r["submitted_at"]))
            side[1].append(int(flagged[eid]))
    return out


def test_null_organisation_has_no_gatekeepers_or_droughts(null_org: Path) -> None:
    # The ANALYSES.md rule: latency ratio >= 2 with BH-adjusted p < 0.01, >= 10 on each side.
    effects, pvalues = [], []
    for sides in _reviewer_sides(null_org).values():
        (lat_out, cr_out), (lat_in, cr_in) = sides[True], sides[False]
        if len(lat_out) >= 10 and len(lat_in) >= 10:
            ratio = statistics.median(lat_out) / max(0.1, statistics.median(lat_in))
            effects.append(ratio >= 2)
            pvalues.append(mannwhitneyu(lat_out, lat_in, alternative="greater").pvalue)
            diff = statistics.mean(cr_out) - statistics.mean(cr_in)
            table = [[sum(cr_out), len(cr_out) - sum(cr_out)], [sum(cr_in), len(cr_in) - sum(cr_in)]]
            effects.append(diff >= 0.2)
            pvalues.append(fisher_exact(table, alternative="greater").pvalue)
    if pvalues:
        adjusted = false_discovery_control(pvalues)
        assert not [p for e, p in zip(effects, adjusted, strict=True) if e and p < 0.01]
    # Every channel that refers to a team's code has that team taking part.
    people = People(read_hris(null_org))
    with zipfile.ZipFile(null_org / "slack.zip") as zf:
        by_channel: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for name in zf.namelist()[2:]:
            by_channel[name.split("/")[0]].extend(json.loads(zf.read(name)))
    owners = codeowners(null_org)
    path_ref = re.compile(r"\b((?:services|libs|tools)/[a-z0-9-]+/)")
    for channel, msgs in by_channel.items():
        teams_posting = {people.team_slug[people.by_slack[m["user"]]] for m in msgs
                         if m.get("user") in people.by_slack}
        referred = Counter(owners[a] for m in msgs for a in path_ref.findall(m.get("text", "")))
        posters = {m.get("user") for m in msgs}
        if len(msgs) >= 10 and len(posters) >= 3:
            for team, n in referred.items():
                if n >= 3:
                    assert team in teams_posting, (channel, team, n)
