"""Code activity: changes, reviews and commits, streamed month by month.

Every change is a GitHub pull request (a Perceval ``pull_request`` item, written as soon as it
is generated) and, once merged inside the period, a squash commit in the git log (held until
its month is complete so the log can be written newest first with a linear parent chain).
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from orgnet.synth import _words as vocab
from orgnet.synth._clock import iso_utc, poisson
from orgnet.synth._org import GITHUB_ORG, REPO, Org, Person
from orgnet.synth._plan import Plan

__all__ = ["CodeGen", "MonthCode", "Tally"]

_ORIGIN = f"https://github.com/{GITHUB_ORG}/{REPO}"
_API = f"https://api.github.com/repos/{GITHUB_ORG}/{REPO}"
_HOUR = 3600.0
DEPENDABOT = {"login": "dependabot[bot]", "id": 49699333, "type": "Bot", "site_admin": False}
CI_BOT = {"login": f"{GITHUB_ORG}-ci[bot]", "id": 90512771, "type": "Bot", "site_admin": False}
DEPENDABOT_GIT = ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")


@dataclass(slots=True)
class Tally:
    """Counts of what was generated, and the measured strength of each planted structure."""

    commits: int = 0
    prs: int = 0
    reviews: int = 0
    review_comments: int = 0
    messages: int = 0
    gk_lat: dict[str, list[float]] = field(default_factory=lambda: {"in": [], "out": []})
    gk_cr: dict[str, list[int]] = field(default_factory=lambda: {"in": [0, 0], "out": [0, 0]})
    bn_approvals: list[int] = field(default_factory=lambda: [0, 0])  # by person, total
    island: list[int] = field(default_factory=lambda: [0, 0])
    drift: list[int] = field(default_factory=lambda: [0, 0])  # by owner team, total
    bs_coedits: int = 0
    os_coedits: dict[str, int] = field(default_factory=lambda: {"o1": 0, "o2": 0})
    silo_coedits: int = 0
    labs_changes: int = 0
    hi_reviews: int = 0
    hi_units: set[int] = field(default_factory=set)
    drought_msgs: int = 0
    drought_people: set[int] = field(default_factory=set)
    informal_msgs: int = 0


@dataclass(slots=True)
class MonthCode:
    """What chat generation needs to know about a month of code."""

    prs_by_team: dict[int, list[int]] = field(default_factory=dict)
    merged_by_team: dict[int, int] = field(default_factory=dict)


class _Change:
    __slots__ = ("area", "author", "created", "files", "flag", "owner")

    def __init__(
        self, created: float, author: int, area: int, owner: int,
        files: list[tuple[str, int, int]], flag: str,
    ) -> None:
        self.created = created
        self.author = author
        self.area = area
        self.owner = owner
        self.files = files
        self.flag = flag


def _words(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(vocab.FILLER) for _ in range(rng.randint(lo, hi)))


class CodeGen:
    """Generates code activity for one organisation, month by month."""

    def __init__(self, org: Org, plan: Plan, seed: int, github: IO[bytes], tmp: Path) -> None:
        self.org = org
        self.plan = plan
        self.seed = seed
        self.cal = org.cal
        self.github = github
        self.tmp = tmp
        self.tally = Tally()
        self.number = 0
        self.review_id = 1_900_000_000
        self.comment_id = 1_500_000_000
        self.last_sha = hashlib.sha1(f"{seed}/root".encode()).hexdigest()
        self.pending: list[tuple[float, str, bytes]] = []
        self.blocks: list[Path] = []
        self.lib_area: dict[int, int] = {}
        self.team_areas: dict[int, tuple[list[int], list[float]]] = {}
        for t in org.teams:
            libs = [a for a in t.areas if org.areas[a].kind == "libs" and not org.areas[a].special]
            self.lib_area[t.idx] = libs[0]
            normal = [a for a in t.areas if not org.areas[a].special]
            weight = {"services": 0.45, "libs": 0.4, "tools": 0.15}
            cum, acc = [], 0.0
            for a in normal:
                acc += weight.get(org.areas[a].kind, 0.15)
                cum.append(acc)
            self.team_areas[t.idx] = (normal, cum)
        self._users: dict[tuple[int, bool], dict[str, Any]] = {}
        self._profiles: dict[tuple[int, bool], dict[str, Any]] = {}
        name_rng = random.Random(f"orgnet-synth/{seed}/github-profiles")
        self._show_name = {p.idx: name_rng.random() < 0.6 for p in org.people}
        hi_rate = sum(
            p.code_rate for p in org.people
            if p.segments[0].team in plan.hi_teams and p.role == "ic"
        )
        # The influencer reviews about a dozen changes a month across the units they reach.
        self.hi_p = min(0.5, 12.0 * plan.s / hi_rate) if plan.active and hi_rate > 0 else 0.0
        self.dept_staff: dict[int, list[int]] = {}
        for p in org.people:
            seg = p.segments[0]
            if seg.level in ("L6", "L7") and p.idx not in plan.people:
                self.dept_staff.setdefault(org.teams[seg.team].dept_at(0), []).append(p.idx)

    # ------------------------------------------------------------------ identities
    def user(self, pid: int, epoch: float) -> dict[str, Any]:
        """GitHub simple-user object of a person at a time (old login before a rename)."""
        p = self.org.people[pid]
        old = p.old_login is not None and p.rename_day is not None and (
            self.cal.day_of(epoch) < p.rename_day
        )
        key = (pid, old)
        obj = self._users.get(key)
        if obj is None:
            login = p.old_login if old and p.old_login else p.login
            obj = {"login": login, "id": p.github_id, "type": "User", "site_admin": False}
            self._users[key] = obj
        return obj

    def profile(self, pid: int, epoch: float) -> dict[str, Any]:
        """The ``user_data`` profile Perceval adds next to a user object."""
        base = self.user(pid, epoch)
        key = (pid, base["login"] != self.org.people[pid].login)
        prof = self._profiles.get(key)
        if prof is None:
            p = self.org.people[pid]
            prof = dict(base)
            prof["name"] = p.full_name if self._show_name[pid] else None
            prof["email"] = None
            prof["company"] = f"@{GITHUB_ORG}" if self._show_name[pid] else None
            self._profiles[key] = prof
        return prof

    def git_identity(self, rng: random.Random, p: Person) -> tuple[str, str]:
        """The (name, e-mail) a person's commit carries."""
        if len(p.git_ids) == 1:
            return p.git_ids[0]
        i = bisect.bisect_left(p.git_cum, rng.random() * p.git_cum[-1])
        return p.git_ids[min(i, len(p.git_ids) - 1)]

    # ------------------------------------------------------------------ month
    def month(self, m: int, *, mix: Callable[[int, int], list[tuple[int, float]]]) -> MonthCode:
        """Generate month ``m``: write its pull requests and queue its commits."""
        org, cal = self.org, self.cal
        rng = random.Random(f"orgnet-synth/{self.seed}/code/{m}")
        lo_day, hi_day = cal.month_starts[m], cal.month_starts[m + 1]
        mid = (lo_day + hi_day) // 2
        lo_t, hi_t = cal.month_epochs(m)
        self.team_m = {p.idx: p.segment(mid).team for p in org.people}
        self.pools = self._pools(m, mid)
        changes: list[_Change] = []
        for p in org.people:
            if p.code_rate <= 0:
                continue
            days = [d for d in range(lo_day, hi_day) if p.employed(d)]
            if not days:
                continue
            frac = len(days) / (hi_day - lo_day)
            ramp = 0.5 if lo_day <= p.hire_day < hi_day else 1.0
            n = poisson(rng, p.code_rate * frac * ramp)
            if n == 0:
                continue
            cum = cal.day_weights(days[0], days[-1] + 1)
            teams = mix(p.idx, mid)
            tcum = list(_cumsum([w for _, w in teams]))
            for _ in range(n):
                day = days[0] + bisect.bisect_left(cum, rng.random() * cum[-1])
                t = min(max(cal.work_time(rng, p.tz, day), lo_t), hi_t - 1)
                team = teams[bisect.bisect_left(tcum, rng.random() * tcum[-1])][0]
                if team < 0:
                    continue
                changes.append(self._make(rng, p.idx, team, t))
        changes.extend(self._planted(rng, m, lo_day, hi_day))
        changes.extend(self._dependabot(rng, lo_day, hi_day))
        changes.sort(key=lambda c: (c.created, c.author))
        out = MonthCode()
        for c in changes:
            self._emit(rng, c, out)
        self._flush_month(m)
        return out

    def _pools(self, m: int, mid: int) -> dict[int, tuple[list[int], list[float]]]:
        org, plan = self.org, self.plan
        members: dict[int, list[tuple[int, float]]] = {t.idx: [] for t in org.teams}
        for p in org.people:
            t = self.team_m[p.idx]
            if t < 0 or not (p.employed(org.cal.month_starts[m]) or p.employed(mid)):
                continue
            w = p.review_w
            if plan.active and p.idx == plan.gk_person:
                w *= 3.0
            if plan.active and (p.idx == plan.mis_person
                                or (p.idx == plan.lag_person and mid < plan.lag_day)):
                # Their reviewing moves with their work: the chart's team keeps 1 - share of it.
                w *= 1.0 - min(0.95, 0.88 * plan.s)
            members[t].append((p.idx, w))
        if plan.active:
            mp = org.people[plan.mis_person]
            if mp.employed(mid):
                members[plan.mis_to].append((plan.mis_person, 1.6 * plan.s))
            lp = org.people[plan.lag_person]
            if mid < plan.lag_day and lp.employed(mid):
                members[plan.lag_to].append((plan.lag_person, 1.6 * plan.s))
        pools = {}
        for t, pairs in members.items():
            pools[t] = ([i for i, _ in pairs], list(_cumsum([w for _, w in pairs])))
        return pools

    def _files(self, rng: random.Random, area: int, n: int) -> list[tuple[str, int, int]]:
        a = self.org.areas[area]
        out: dict[str, tuple[str, int, int]] = {}
        for _ in range(n):
            i = bisect.bisect_left(a.cum, rng.random() * a.cum[-1])
            path = a.files[min(i, len(a.files) - 1)]
            added = int(rng.lognormvariate(2.6, 1.1))
            deleted = int(added * rng.random() * 0.8)
            out[path] = (path, added, deleted)
        return list(out.values())

    def _nfiles(self, rng: random.Random) -> int:
        return 1 + min(7, int(rng.expovariate(0.6)))

    def _make(self, rng: random.Random, author: int, team: int, t: float) -> _Change:
        plan = self.plan
        tm = self.org.teams[team]
        area = -1
        for dep in tm.deps:  # an outsider change straight into a dependency's library
            if rng.random() < 0.015:
                area = self.lib_area[dep]
        if plan.active and team == plan.bs_a and rng.random() < 0.12 * plan.s:
            area = self.lib_area[plan.bs_b]
        if area < 0:
            areas, cum = self.team_areas[team]
            area = areas[bisect.bisect_left(cum, rng.random() * cum[-1])]
        files = self._files(rng, area, self._nfiles(rng))
        for dep in tm.deps:
            if rng.random() < 0.045:
                files += self._files(rng, self.lib_area[dep], 1)
        if plan.active:
            if team == plan.bs_a and rng.random() < 0.45 * plan.s:
                files += self._files(rng, self.lib_area[plan.bs_b], rng.randint(1, 3))
                self.tally.bs_coedits += 1
            elif team == plan.os_t:
                if rng.random() < 0.25 * plan.s:
                    files += self._files(rng, self.lib_area[plan.os_o1], rng.randint(1, 2))
                    self.tally.os_coedits["o1"] += 1
                if rng.random() < 0.25 * plan.s:
                    files += self._files(rng, self.lib_area[plan.os_o2], rng.randint(1, 2))
                    self.tally.os_coedits["o2"] += 1
            elif team == plan.silo:
                for target in plan.silo_targets:
                    if rng.random() < 0.1 * plan.s:
                        files += self._files(rng, self.lib_area[target], 1)
                        self.tally.silo_coedits += 1
        files = list({f[0]: f for f in files}.values())
        owner = self.org.areas[area].owner
        flag = "direct" if rng.random() < 0.04 else ""
        return _Change(t, author, area, owner, files, flag)

    def _planted(self, rng: random.Random, m: int, lo: int, hi: int) -> list[_Change]:
        plan, org, cal = self.plan, self.org, self.cal
        if not plan.active:
            return []
        months = cal.months
        out: list[_Change] = []
        mid = (lo + hi) // 2

        def when(pid: int) -> float | None:
            p = org.people[pid]
            days = [d for d in range(lo, hi) if p.employed(d) and not cal.weekend[d]]
            if not days:
                return None
            lo_t, hi_t = cal.month_epochs(m)
            return min(max(cal.work_time(rng, p.tz, rng.choice(days)), lo_t), hi_t - 1)

        def ics(team: int) -> list[int]:
            return [
                i for i in self.pools[team][0]
                if org.people[i].role == "ic" and self.team_m[i] == team
            ]

        # Gatekeeper: outsiders' changes into the gatekeeper's library.
        src_people = [i for t in plan.gk_sources for i in ics(t)]
        for _ in range(math.ceil(40 / months)):
            if not src_people:
                break
            a = rng.choice(src_people)
            t = when(a)
            if t is not None:
                area = self.lib_area[plan.gk_team]
                files = self._files(rng, area, self._nfiles(rng))
                out.append(_Change(t, a, area, plan.gk_team, files, "gk"))
        # Knowledge island: one person writes nearly all of an area.
        share = plan.lerp(1.0 / max(1, len(ics(plan.island_team))), 0.93)
        others = [i for i in ics(plan.island_team) if i != plan.island_person]
        for _ in range(math.ceil(54 / months)):
            a = plan.island_person if (rng.random() < share or not others) else rng.choice(others)
            t = when(a)
            if t is not None:
                files = self._files(rng, plan.island_area, self._nfiles(rng))
                out.append(_Change(t, a, plan.island_area, plan.island_team, files, "island"))
        # Ownership drift: another team does nearly all the work in an area it does not own.
        actual = ics(plan.drift_actual)
        owners = ics(plan.drift_owner)
        share = plan.lerp(0.0, 0.95)
        for _ in range(math.ceil(48 / months)):
            a = rng.choice(actual) if (rng.random() < share and actual) else rng.choice(owners)
            t = when(a)
            if t is not None:
                files = self._files(rng, plan.drift_area, self._nfiles(rng))
                out.append(_Change(t, a, plan.drift_area, plan.drift_owner, files, "drift"))
        # Informal team: everyone edits the same lab files.
        for a in plan.informal_people:
            if not org.people[a].employed(mid):
                continue
            for _ in range(poisson(rng, 4.0 * plan.s)):
                t = when(a)
                if t is not None:
                    files = self._files(rng, plan.informal_area, rng.randint(1, 3))
                    out.append(_Change(t, a, plan.informal_area, -1, files, "labs"))
        return out

    def _dependabot(self, rng: random.Random, lo: int, hi: int) -> list[_Change]:
        out = []
        for t in self.org.teams:
            if rng.random() < 0.3:
                day = rng.randrange(lo, hi)
                when = self.cal.base + day * 86400 + rng.randint(3600, 7 * 3600)
                area = self.lib_area[t.idx]
                path = self.org.areas[area].path + "requirements.txt"
                out.append(_Change(when, -1, area, t.idx, [(path, 1, 1)], "bot"))
        return out

    # ------------------------------------------------------------------ reviews
    def _pick(self, rng: random.Random, team: int, exclude: list[int], day: int) -> int:
        plan = self.plan
        if plan.active and team == plan.bn_team and plan.bn_person not in exclude and (
            rng.random() < 0.95 * plan.s and self.org.people[plan.bn_person].employed(day)
        ):
            return plan.bn_person
        ids, cum = self.pools.get(team, ([], []))
        if not ids:
            return -1
        for _ in range(6):
            i = ids[min(len(ids) - 1, bisect.bisect_left(cum, rng.random() * cum[-1]))]
            if i not in exclude and self.org.people[i].employed(day):
                return i
        return -1

    def _reviewers(self, rng: random.Random, c: _Change, day: int) -> list[int]:
        plan, org = self.plan, self.org
        a_team = self.team_m.get(c.author, -1) if c.author >= 0 else -1
        owner = c.owner
        excl = [c.author]
        if c.flag == "labs":
            others = [i for i in plan.informal_people if i != c.author]
            rng.shuffle(others)
            return others[: rng.randint(1, 2)]
        if c.flag == "drift" or (owner >= 0 and plan.blocked(a_team, owner)):
            owner = a_team  # shadow review: nobody from the owning team is asked
        if owner < 0:
            return []
        out: list[int] = []
        if plan.active and owner == plan.bn_team and c.author != plan.bn_person and (
            rng.random() < 0.95 * plan.s and org.people[plan.bn_person].employed(day)
        ):
            out = [plan.bn_person]
        elif plan.active and owner == plan.gk_team and a_team != owner and (
            c.flag == "gk" or rng.random() < 0.8 * plan.s
        ) and org.people[plan.gk_person].employed(day) and c.author != plan.gk_person:
            out = [plan.gk_person]
        else:
            for _ in range(1 if rng.random() < 0.6 else 2):
                r = self._pick(rng, owner, excl + out, day)
                if r >= 0:
                    out.append(r)
        # Owners of other touched libraries are asked too (unless planted as out of contact).
        if c.flag in ("", "direct"):
            seen = {owner}
            for path, _, _ in c.files:
                other = self._owner_of(path)
                if other < 0 or other in seen:
                    continue
                seen.add(other)
                if plan.blocked(a_team, other) or rng.random() > 0.55:
                    continue
                r = self._pick(rng, other, excl + out, day)
                if r >= 0:
                    out.append(r)
            if rng.random() < 0.05:  # a staff engineer from the department takes a look
                staff = self.dept_staff.get(org.teams[owner].dept_at(day), [])
                cands = [
                    s for s in staff
                    if s not in out and s != c.author and org.people[s].employed(day)
                    and not plan.blocked(a_team, self.team_m.get(s, -1))
                    and not plan.blocked(owner, self.team_m.get(s, -1))
                ]
                if c.author >= 0:  # people ask the staff engineer who shares their hours
                    tz = org.people[c.author].tz
                    cands = [s for s in cands if org.people[s].tz == tz] or cands
                if cands:
                    out.append(rng.choice(cands))
        if plan.active:
            if owner in plan.hi_teams and c.author != plan.hi_person and (
                rng.random() < self.hi_p
            ) and org.people[plan.hi_person].employed(day) and plan.hi_person not in out:
                out.append(plan.hi_person)
                self.tally.hi_reviews += 1
                self.tally.hi_units.add(owner)
            if c.author in plan.informal_people and rng.random() < 0.35 * plan.s:
                others = [i for i in plan.informal_people if i != c.author and i not in out]
                if others:
                    out.append(rng.choice(others))
        return out

    def _owner_of(self, path: str) -> int:
        parts = path.split("/", 2)
        key = f"{parts[0]}/{parts[1]}/"
        idx = self._area_by_prefix().get(key)
        return self.org.areas[idx].owner if idx is not None else -1

    def _area_by_prefix(self) -> dict[str, int]:
        cache: dict[str, int] | None = getattr(self, "_prefix_cache", None)
        if cache is None:
            cache = {a.path: a.idx for a in self.org.areas}
            self._prefix_cache = cache
        return cache

    # ------------------------------------------------------------------ emit
    def _emit(self, rng: random.Random, c: _Change, out: MonthCode) -> None:
        org, plan, cal = self.org, self.plan, self.cal
        end = cal.end_epoch
        day = cal.day_of(c.created)
        self.number += 1
        number = self.number
        sha = hashlib.sha1(f"{self.seed}/commit/{number}".encode()).hexdigest()
        if c.flag == "direct":
            self._commit(rng, c, sha, number, c.created, None, [])
            return
        head_sha = hashlib.sha1(f"{self.seed}/head/{number}".encode()).hexdigest()
        if c.author >= 0:
            author_user: dict[str, Any] = self.user(c.author, c.created)
            author_profile: dict[str, Any] | None = self.profile(c.author, c.created)
            a_team = self.team_m.get(c.author, -1)
        else:
            author_user, author_profile, a_team = DEPENDABOT, None, -1
        reviewers = self._reviewers(rng, c, day)
        reviews: list[tuple[int, str, float]] = []  # (person or -2 for CI, state, time)
        abandoned = False
        approvals: list[float] = []
        for r in reviewers:
            rp = org.people[r]
            r_team = self.team_m.get(r, -1)
            outsider = r_team != a_team
            lat = rng.lognormvariate(math.log(3.2), 1.0)
            cr_p = 0.07
            gk = plan.active and r == plan.gk_person and outsider and c.owner == plan.gk_team
            if gk:
                lat *= plan.lerp(1.0, 10.0)
                cr_p = plan.lerp(0.07, 0.6)
            t1 = c.created + lat * _HOUR
            if rng.random() < 0.75:  # most reviews wait for the reviewer's working hours
                t1 = cal.next_working(rng, rp.tz, t1)
            u = rng.random()
            state = "CHANGES_REQUESTED" if u < cr_p else (
                "COMMENTED" if u < cr_p + 0.1 else "APPROVED")
            reviews.append((r, state, t1))
            if plan.active and r == plan.gk_person and c.owner == plan.gk_team:
                side = "out" if outsider else "in"
                self.tally.gk_lat[side].append((t1 - c.created) / _HOUR)
                self.tally.gk_cr[side][0] += state == "CHANGES_REQUESTED"
                self.tally.gk_cr[side][1] += 1
            if state == "APPROVED":
                approvals.append(t1)
                continue
            if rng.random() < (plan.lerp(0.05, 0.3) if gk else 0.05) and state != "COMMENTED":
                abandoned = True
                continue
            lat2 = rng.lognormvariate(math.log(2.5), 0.9) * (plan.lerp(1.0, 4.0) if gk else 1.0)
            t2 = cal.next_working(rng, rp.tz, t1 + lat2 * _HOUR)
            reviews.append((r, "APPROVED", t2))
            approvals.append(t2)
        if rng.random() < 0.2 and c.author >= 0:
            reviews.append((-2, "COMMENTED", c.created + rng.randint(300, 1500)))
        reviews.sort(key=lambda x: x[2])
        merged_at: float | None = None
        closed_at: float | None = None
        if abandoned or (rng.random() < 0.03):
            last = max([x[2] for x in reviews] + [c.created])
            closed_at = last + rng.uniform(4, 72) * _HOUR
        elif approvals or not reviewers:
            base = max(approvals) if approvals else c.created + rng.uniform(1, 8) * _HOUR
            merged_at = base + rng.lognormvariate(math.log(0.7), 0.8) * _HOUR
            closed_at = merged_at
        if closed_at is not None and closed_at >= end:
            merged_at = closed_at = None
        visible = [x for x in reviews if x[2] < end]
        # Approval concentration bookkeeping for the planted bottleneck team.
        if plan.active and c.owner == plan.bn_team:
            for r, state, _ in visible:
                if state == "APPROVED":
                    self.tally.bn_approvals[1] += 1
                    self.tally.bn_approvals[0] += r == plan.bn_person
        if plan.active and c.flag == "island":
            self.tally.island[1] += 1
            self.tally.island[0] += c.author == plan.island_person
        if plan.active and c.flag == "drift":
            self.tally.drift[1] += 1
            self.tally.drift[0] += self.team_m.get(c.author) == plan.drift_owner
        if c.flag == "labs":
            self.tally.labs_changes += 1
        # Review JSON.
        reviews_data = []
        comments_data: list[dict[str, Any]] = []
        paths = [f[0] for f in c.files]
        for r, state, t in visible:
            self.review_id += 1
            rid = self.review_id
            if r == -2:
                user, prof = CI_BOT, dict(CI_BOT, name=None, email=None, company=None)
                body = _words(rng, 3, 8)
            else:
                user, prof = self.user(r, t), self.profile(r, t)
                body = "" if state == "APPROVED" and rng.random() < 0.7 else _words(rng, 3, 14)
            reviews_data.append({
                "id": rid, "node_id": f"PRR_{rid}", "user": user, "user_data": prof, "body": body,
                "state": state, "submitted_at": iso_utc(t), "commit_id": head_sha,
                "author_association": "NONE" if r == -2 else "MEMBER",
                "html_url": f"{_ORIGIN}/pull/{number}#pullrequestreview-{rid}",
            })
            self.tally.reviews += 1
            if r >= 0 and rng.random() < (0.6 if state != "APPROVED" else 0.08):
                first_id = 0
                for k in range(rng.randint(1, 2)):
                    self.comment_id += 1
                    ct = t - rng.randint(30, 600) + k
                    body = _words(rng, 4, 16)
                    if c.author >= 0 and rng.random() < 0.15:
                        body = f"@{self.user(c.author, ct)['login']} {body}"
                    comments_data.append(self._comment(
                        self.comment_id, rid, None, r, ct, rng.choice(paths), head_sha, number,
                        body, rng,
                    ))
                    first_id = first_id or self.comment_id
                if c.author >= 0 and rng.random() < 0.5 and t + 1800 < end:
                    self.comment_id += 1
                    rt = t + rng.randint(600, 6 * 3600)
                    if rt < end:
                        comments_data.append(self._comment(
                            self.comment_id, rid, first_id, c.author, rt,
                            comments_data[-1]["path"], head_sha, number, _words(rng, 3, 10), rng,
                        ))
        self.tally.review_comments += len(comments_data)
        merger = c.author if c.author >= 0 else (reviewers[0] if reviewers else -1)
        if merged_at is not None and reviewers and rng.random() < 0.3:
            merger = reviewers[0]
        state_open = closed_at is None
        pending = [r for r in reviewers if not any(x[0] == r for x in visible)] if state_open else []
        updated = max([c.created] + [x[2] for x in visible] + [closed_at or 0.0])
        additions = sum(f[1] for f in c.files)
        deletions = sum(f[2] for f in c.files)
        area = org.areas[c.area]
        data: dict[str, Any] = {
            "id": 2_100_000_000 + number, "node_id": f"PR_{number}", "number": number,
            "url": f"{_API}/pulls/{number}", "html_url": f"{_ORIGIN}/pull/{number}",
            "state": "open" if state_open else "closed", "draft": False, "locked": False,
            "title": f"{area.path.rstrip('/')}: {_words(rng, 2, 6)}",
            "body": _words(rng, 2, 10) if rng.random() < 0.3 else None,
            "user": author_user, "user_data": author_profile,
            "created_at": iso_utc(c.created), "updated_at": iso_utc(updated),
            "closed_at": iso_utc(closed_at) if closed_at else None,
            "merged_at": iso_utc(merged_at) if merged_at else None,
            "merged": merged_at is not None,
            "merged_by": self.user(merger, merged_at) if merged_at and merger >= 0 else None,
            "merged_by_data": self.profile(merger, merged_at) if merged_at and merger >= 0 else [],
            "merge_commit_sha": sha if merged_at else None,
            "requested_reviewers": [self.user(r, updated) for r in pending],
            "requested_reviewers_data": [self.profile(r, updated) for r in pending],
            "requested_teams": [],
            "reviews_data": reviews_data,
            "review_comments_data": comments_data if comments_data else {},
            "commits_data": [head_sha],
            "head": {"ref": f"change-{number}", "sha": head_sha},
            "base": {"ref": "main", "repo": {"full_name": f"{GITHUB_ORG}/{REPO}"}},
            "author_association": "NONE" if c.author < 0 else "MEMBER",
            "comments": 0, "review_comments": len(comments_data), "commits": 1,
            "additions": additions, "deletions": deletions, "changed_files": len(c.files),
        }
        item = {
            "backend_name": "GitHub", "backend_version": "0.31.3", "perceval_version": "1.4.7",
            "timestamp": float(end), "origin": _ORIGIN,
            "uuid": hashlib.sha1(f"{_ORIGIN}:{data['id']}".encode()).hexdigest(),
            "updated_on": float(int(updated)), "classified_fields_filtered": None,
            "category": "pull_request", "tag": _ORIGIN,
            "search_fields": {"item_id": str(data["id"]), "owner": GITHUB_ORG, "repo": REPO},
            "data": data,
        }
        self.github.write(json.dumps(item, sort_keys=True, separators=(",", ":")).encode())
        self.github.write(b"\n")
        self.tally.prs += 1
        if c.owner >= 0:
            out.prs_by_team.setdefault(c.owner, []).append(number)
        if merged_at is not None:
            if c.owner >= 0:
                out.merged_by_team[c.owner] = out.merged_by_team.get(c.owner, 0) + 1
            approvers = [r for r, s, _ in visible if s == "APPROVED" and r >= 0]
            self._commit(rng, c, sha, number, merged_at, number, approvers)

    def _comment(
        self, cid: int, rid: int, reply_to: int | None, pid: int, t: float, path: str,
        sha: str, number: int, body: str, rng: random.Random,
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": cid, "pull_request_review_id": rid,
            "user": self.user(pid, t), "user_data": self.profile(pid, t), "body": body,
            "path": path, "line": rng.randint(1, 400), "side": "RIGHT", "subject_type": "line",
            "commit_id": sha, "created_at": iso_utc(t),
            "updated_at": iso_utc(t), "author_association": "MEMBER",
            "reactions": {"total_count": 0}, "reactions_data": [],
            "html_url": f"{_ORIGIN}/pull/{number}#discussion_r{cid}",
        }
        if reply_to:
            obj["in_reply_to_id"] = reply_to
        return obj

    # ------------------------------------------------------------------ git
    def _commit(
        self, rng: random.Random, c: _Change, sha: str, number: int, when: float,
        pr: int | None, approvers: list[int],
    ) -> None:
        org, cal = self.org, self.cal
        if c.author >= 0:
            p = org.people[c.author]
            an, ae = self.git_identity(rng, p)
            a_iso = cal.local_iso(c.created, p.tz)
            seg = p.segment(cal.day_of(c.created))
            dept = org.teams[seg.team].dept_at(cal.day_of(c.created)) if seg.team >= 0 else -1
        else:
            an, ae = DEPENDABOT_GIT
            a_iso = cal.local_iso(c.created, "UTC")
            dept = -1
        if pr is None:
            cn, ce, c_iso = an, ae, a_iso
            subject = _words(rng, 3, 8)
        else:
            cn, ce = "GitHub", "noreply@github.com"
            c_iso = cal.local_iso(when, "UTC")
            subject = f"{_words(rng, 3, 8)} (#{pr})"
        trailers = []
        if c.author >= 0:
            if dept >= 0 and dept % 2 == 0:  # half of the departments sign off (DCO)
                trailers.append(f"Signed-off-by: {an} <{ae}>")
            co = self._coauthor(rng, c)
            if co >= 0:
                cp = org.people[co]
                trailers.append(f"Co-authored-by: {cp.full_name} <{cp.work_email}>")
            if dept >= 0 and dept % 3 == 1:  # some departments' merge bot records approvals
                for r in approvers:
                    rp = org.people[r]
                    key = "Reviewed-by" if self.team_m.get(r) == c.owner else "Acked-by"
                    trailers.append(f"{key}: {rp.full_name} <{rp.work_email}>")
        rest = "\x1f".join((
            an, ae, an, ae, a_iso, cn, ce, c_iso, subject,
            "".join(f"{t}\n" for t in trailers),
        ))
        numstat = "".join(f"{a}\t{d}\t{path}\n" for path, a, d in c.files)
        body = f"{rest}\x1d\n\n{numstat}".encode()
        self.pending.append((when, sha, body))
        self.tally.commits += 1

    def _coauthor(self, rng: random.Random, c: _Change) -> int:
        plan = self.plan
        if c.flag == "labs" and rng.random() < 0.25:
            others = [i for i in plan.informal_people if i != c.author]
            return rng.choice(others) if others else -1
        if rng.random() < 0.05:
            team = self.team_m.get(c.author, -1)
            if team >= 0:
                return self._pick(rng, team, [c.author], self.cal.day_of(c.created))
        return -1

    def _flush_month(self, m: int) -> None:
        """Write the commits of month ``m`` (ascending parents, stored newest first)."""
        _, hi = self.cal.month_epochs(m)
        last = m == self.cal.months - 1
        ready = [x for x in self.pending if x[0] < hi or last]
        self.pending = [x for x in self.pending if not (x[0] < hi or last)]
        ready.sort(key=lambda x: (x[0], x[1]))
        records = []
        for _, sha, body in ready:
            records.append(b"\x1e" + f"{sha}\x1f{self.last_sha}\x1f".encode() + body)
            self.last_sha = sha
        path = self.tmp / f"git-{m:03d}.gz"
        with gzip.open(path, "wb", compresslevel=1) as fh:
            for rec in reversed(records):
                fh.write(rec)
        self.blocks.append(path)

    def write_git(self, out: IO[bytes]) -> None:
        """Concatenate the monthly blocks newest first into ``out``."""
        for path in reversed(self.blocks):
            with gzip.open(path, "rb") as fh:
                while True:
                    chunk = fh.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)


def _cumsum(values: list[float]) -> list[float]:
    out, acc = [], 0.0
    for v in values:
        acc += v
        out.append(acc)
    return out
