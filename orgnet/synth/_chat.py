"""Slack workspace export: channels, users and day files, streamed month by month."""

from __future__ import annotations

import bisect
import datetime as dt
import json
import math
import random
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orgnet.synth import _words as vocab
from orgnet.synth._clock import poisson
from orgnet.synth._code import MonthCode, Tally
from orgnet.synth._org import (
    _ALNUM,
    GITHUB_ORG,
    REPO,
    SLACK_TEAM,
    Channel,
    Incident,
    Org,
)
from orgnet.synth._plan import Plan

__all__ = ["BOTS", "ChatGen", "DeterministicZip", "build_channels"]

_REACTIONS = ("+1", "eyes", "white_check_mark", "tada", "pray", "raised_hands", "heart", "rocket")
#: Slack bot users: (user id, bot id, name).
BOTS = (("U0DEPLOYBOT", "B0DEPLOY01", "deploybot"), ("U0PAGERBOT", "B0PAGER001", "pagerbot"))
_THREAD_P = {
    "team": 0.3, "help": 0.8, "dept": 0.25, "general": 0.35, "random": 0.2, "project": 0.35,
    "informal": 0.5, "drought": 0.45, "oncall": 0.7, "incident": 0.45,
}
_MENTION_P = {"team": 0.15, "help": 0.35, "dept": 0.1, "project": 0.2, "informal": 0.3,
              "drought": 0.2, "incident": 0.25}
_REF_P = {"team": 0.1, "help": 0.45, "project": 0.2, "informal": 0.3, "incident": 0.3}


class DeterministicZip:
    """A zip writer with fixed member timestamps and attributes (byte-identical output)."""

    def __init__(self, path: Path, date: dt.date) -> None:
        self.zf = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.date_time = (max(1980, date.year), date.month, date.day, 0, 0, 0)

    def write(self, name: str, data: bytes) -> None:
        """Add member ``name``."""
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        info.external_attr = 0o644 << 16
        self.zf.writestr(info, data, compresslevel=9)

    def close(self) -> None:
        """Write the central directory."""
        self.zf.close()


def _cid(rng: random.Random, used: set[str]) -> str:
    while True:
        value = "C0" + "".join(rng.choice(_ALNUM) for _ in range(9))
        if value not in used:
            used.add(value)
            return value


def build_channels(org: Org, plan: Plan, seed: int) -> None:
    """Create every channel (normal ones first, from their own stream) and the incidents."""
    rng = random.Random(f"orgnet-synth/{seed}/channels")
    cal = org.cal
    used: set[str] = set()
    everyone = [p.idx for p in org.people]
    in_team: dict[int, list[int]] = {t.idx: [] for t in org.teams}
    for p in org.people:
        seen: list[int] = []
        for seg in p.segments:
            if seg.team >= 0 and seg.team not in seen:
                seen.append(seg.team)
                in_team[seg.team].append(p.idx)

    def created() -> int:
        return cal.base - rng.randint(60, 1500) * 86400 + rng.randint(0, 86399)

    def add(name: str, kind: str, members: list[int], **kw: Any) -> int:
        ch = Channel(len(org.channels), _cid(rng, used), name, kind, kw.pop("when", created()),
                     sorted(set(members)), **kw)
        org.channels.append(ch)
        return ch.idx

    add("general", "general", everyone)
    add("random", "random", everyone)
    dependents: dict[int, list[int]] = {t.idx: [] for t in org.teams}
    for t in org.teams:
        for d in t.deps:
            dependents[d].append(t.idx)
    for t in org.teams:
        t.channel = add(f"t-{t.slug}", "team", in_team[t.idx], owner_team=t.idx)
        helpers = list(in_team[t.idx])
        for d in dependents[t.idx]:
            helpers += in_team[d]
        t.help_channel = add(f"help-{t.slug}", "help", helpers, owner_team=t.idx)
    for dept in org.depts:
        dept_members = [dept.head] + [
            i for team in org.teams if dept.idx in {x for _, x in team.dept_history}
            for i in in_team[team.idx]
        ]
        dept.channel = add(f"d-{dept.slug}", "dept", dept_members, dept=dept.idx)
        ics = [i for team in org.teams if team.dept_at(0) == dept.idx for i in in_team[team.idx]]
        dept.oncall_channel = add(f"oncall-{dept.slug}", "oncall", [*ics, dept.head], dept=dept.idx)
    # Ordinary cross-team working groups.
    codes = list(vocab.CODENAMES)
    rng.shuffle(codes)
    pool = [t.idx for t in org.teams if t.idx not in (plan.silo, plan.bs_a, plan.bs_b, plan.os_t)]
    n_proj = max(1, len(org.teams) // 6)
    for k in range(n_proj):
        if len(pool) < 2:
            break
        proj_teams = rng.sample(pool, min(len(pool), rng.randint(2, 3)))
        proj_members: list[int] = []
        for pt in proj_teams:
            cands = [i for i in in_team[pt] if i not in plan.people and i not in org.leavers]
            proj_members += rng.sample(cands, min(len(cands), rng.randint(2, 3)))
        suffix = f"-{k // len(codes) + 1}" if k >= len(codes) else ""
        add(f"proj-{codes[k % len(codes)]}{suffix}", "project", proj_members,
            teams=sorted(proj_teams))
    # Incidents, scheduled for the whole period.
    inc_rng = random.Random(f"orgnet-synth/{seed}/incidents")
    hard = {plan.silo, plan.bs_a, plan.bs_b, plan.os_t, plan.os_o2}
    candidates = [t.idx for t in org.teams if t.idx not in hard]
    names: set[str] = set()
    for m in range(cal.months):
        lo, hi = cal.month_starts[m], cal.month_starts[m + 1]
        for _ in range(poisson(inc_rng, max(0.6, len(org.teams) * 0.1))):
            day = inc_rng.randrange(lo, max(lo + 1, hi - 2))
            team = inc_rng.choice(candidates)
            staff = [i for i in org.members(team, day) if org.people[i].role in ("ic", "m1")]
            members = inc_rng.sample(staff, min(len(staff), inc_rng.randint(2, 4)))
            for d in dependents[team][:2]:
                others = [i for i in org.members(d, day) if org.people[i].role == "ic"]
                if others:
                    members.append(inc_rng.choice(others))
            members.append(org.depts[org.teams[team].dept_at(day)].head)
            name = f"inc-{cal.date(day):%Y%m%d}-{org.teams[team].slug}"
            k = 2
            base = name
            while name in names:
                name = f"{base}-{k}"
                k += 1
            names.add(name)
            when = cal.base + day * 86400 + inc_rng.randint(2 * 3600, 20 * 3600)
            members = [i for i in members if org.people[i].employed(day)]
            ch = Channel(len(org.channels), _cid(inc_rng, used), name, "incident", when,
                         sorted(set(members)), owner_team=team, archived=True)
            org.channels.append(ch)
            org.incidents.append(Incident(day, team, ch.idx))
    if not plan.active:
        return
    prng = random.Random(f"orgnet-synth/{seed}/plan-channels")
    taken = {ch.name for ch in org.channels}
    spare = [f"proj-{c}" for c in vocab.CODENAMES if f"proj-{c}" not in taken]
    spare += [f"proj-{a}-{b}" for a in vocab.CODENAMES for b in vocab.CODENAMES
              if a != b and f"proj-{a}-{b}" not in taken][: max(0, 2 - len(spare))]
    prng.shuffle(spare)
    info = Channel(len(org.channels), _cid(prng, used), spare[0], "informal",
                   cal.base - prng.randint(20, 200) * 86400, sorted(plan.informal_people))
    org.channels.append(info)
    drought = Channel(len(org.channels), _cid(prng, used), spare[1], "drought",
                      cal.base - prng.randint(20, 200) * 86400, sorted(plan.drought_people),
                      owner_team=plan.drought_team)
    org.channels.append(drought)
    # Planted memberships: the misaligned and lagging people sit in their real team's channel,
    # the influencer in many help channels.
    for pid, team in ((plan.mis_person, plan.mis_to), (plan.lag_person, plan.lag_to)):
        ch = org.channels[org.teams[team].channel]
        ch.members = sorted(set(ch.members) | {pid})
    for team in plan.hi_teams:
        ch = org.channels[org.teams[team].help_channel]
        ch.members = sorted(set(ch.members) | {plan.hi_person})
    t_help = org.channels[org.teams[plan.os_o1].help_channel]
    t_help.members = sorted(set(t_help.members) | set(in_team[plan.os_t]))


class ChatGen:
    """Generates Slack messages for one organisation, month by month."""

    def __init__(
        self, org: Org, plan: Plan, seed: int, zf: DeterministicZip, tally: Tally,
        mix: Callable[[int, int], list[tuple[int, float]]],
    ) -> None:
        self.org = org
        self.plan = plan
        self.seed = seed
        self.cal = org.cal
        self.zf = zf
        self.tally = tally
        self.mix = mix
        self.project_of: dict[int, list[int]] = {}
        for ch in org.channels:
            if ch.kind == "project":
                for pid in ch.members:
                    self.project_of.setdefault(pid, []).append(ch.idx)
        self.staff = {
            p.idx for p in org.people if p.segments[0].level in ("L6", "L7")
        }

    # ------------------------------------------------------------------ metadata
    def users_json(self) -> bytes:
        """``users.json``: every person, the bots and Slackbot."""
        org, cal = self.org, self.cal
        rng = random.Random(f"orgnet-synth/{self.seed}/slack-users")
        users: list[dict[str, Any]] = []
        for p in org.people:
            seg = p.segments[-1]
            offset = cal.offsets[p.tz][cal.n_days - 1]
            profile: dict[str, Any] = {
                "title": seg.title, "real_name": p.slack_real, "display_name": p.slack_display,
                "real_name_normalized": p.slack_real, "team": SLACK_TEAM,
            }
            if rng.random() > 0.03:
                profile["email"] = p.work_email
            users.append({
                "id": p.slack_id, "team_id": SLACK_TEAM, "name": p.slack_name,
                "deleted": p.leave_day is not None, "real_name": p.slack_real, "tz": p.tz,
                "tz_label": p.tz, "tz_offset": offset, "is_bot": False, "is_app_user": False,
                "is_admin": p.role == "root", "is_restricted": False,
                "is_ultra_restricted": False, "profile": profile,
            })
        for uid, bid, name in BOTS:
            users.append({
                "id": uid, "team_id": SLACK_TEAM, "name": name, "deleted": False,
                "real_name": name, "is_bot": True, "is_app_user": False,
                "profile": {"bot_id": bid, "real_name": name, "display_name": "", "team": SLACK_TEAM},
            })
        users.append({
            "id": "USLACKBOT", "team_id": SLACK_TEAM, "name": "slackbot", "deleted": False,
            "real_name": "Slackbot", "is_bot": False, "is_app_user": False,
            "profile": {"real_name": "Slackbot", "display_name": "Slackbot", "team": SLACK_TEAM},
        })
        return json.dumps(users, indent=1, ensure_ascii=False).encode()

    def channels_json(self) -> bytes:
        """``channels.json``: every channel with its final members."""
        org = self.org
        out = []
        for ch in org.channels:
            members = [
                org.people[i].slack_id for i in ch.members if org.people[i].leave_day is None
            ]
            creator = org.people[ch.members[0]].slack_id if ch.members else "USLACKBOT"
            out.append({
                "id": ch.cid, "name": ch.name, "created": ch.created, "creator": creator,
                "is_archived": ch.archived, "is_general": ch.kind == "general",
                "members": members,
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            })
        return json.dumps(out, indent=1, ensure_ascii=False).encode()

    # ------------------------------------------------------------------ month
    def month(self, m: int, code: MonthCode) -> None:
        """Generate and write every day file of month ``m``."""
        org, plan, cal = self.org, self.plan, self.cal
        rng = random.Random(f"orgnet-synth/{self.seed}/chat/{m}")
        self.rng = rng
        self.code = code
        lo_day, hi_day = cal.month_starts[m], cal.month_starts[m + 1]
        self.lo_day, self.hi_day = lo_day, hi_day
        self.lo_t, self.hi_t = cal.month_epochs(m)
        mid = (lo_day + hi_day) // 2
        self.team_m = {p.idx: p.segment(mid).team for p in org.people}
        self.dept_m = {p.idx: p.segment(mid).dept for p in org.people}
        self.hires_m = [i for i in org.hires if lo_day <= org.people[i].hire_day < hi_day]
        posts: dict[int, list[tuple[int, int]]] = {}
        for p in org.people:
            days = [d for d in range(lo_day, hi_day) if p.employed(d)]
            if not days:
                continue
            frac = len(days) / (hi_day - lo_day)
            n = poisson(rng, p.chat_rate * frac)
            if n == 0:
                continue
            weights = self._channels_for(p.idx, mid)
            cum = list(_cumsum([w for _, w in weights]))
            counts: dict[int, int] = {}
            for _ in range(n):
                ch = weights[bisect.bisect_left(cum, rng.random() * cum[-1])][0]
                counts[ch] = counts.get(ch, 0) + 1
            for ch, k in counts.items():
                posts.setdefault(ch, []).append((p.idx, k))
        if plan.active:
            for dch in org.channels:
                if dch.kind != "drought":
                    continue
                people = [i for i in dch.members if org.people[i].employed(mid)]
                for i in range(math.ceil(32 / cal.months)):
                    if people:
                        posts.setdefault(dch.idx, []).append((people[i % len(people)], 1))
        incidents = {inc.channel: inc for inc in org.incidents if lo_day <= inc.day < hi_day}
        for channel in org.channels:
            if channel.kind == "incident":
                inc = incidents.get(channel.idx)
                if inc is not None:
                    self._write(channel, self._incident(channel, inc))
                continue
            msgs = self._channel(channel, posts.get(channel.idx, []), mid)
            if msgs:
                self._write(channel, msgs)

    def _channels_for(self, pid: int, mid: int) -> list[tuple[int, float]]:
        org, plan = self.org, self.plan
        p = org.people[pid]
        seg = p.segment(mid)
        out: list[tuple[int, float]] = []
        general, random_ch = 0, 1
        if p.role == "root":
            return [(general, 1.0)]
        if p.role == "m3":
            depts = [d for d in org.depts if d.org == seg.org]
            return [(general, 0.5)] + [(d.channel, 0.5 / len(depts)) for d in depts]
        if p.role == "m2":
            dp = org.depts[seg.dept]
            return [(dp.channel, 0.6), (general, 0.2), (random_ch, 0.05), (dp.oncall_channel, 0.15)]
        if plan.active and seg.team == plan.silo:
            return [(org.teams[seg.team].channel, 0.9), (org.teams[seg.team].help_channel, 0.1)]
        manager = p.role == "m1"
        for team, share in self.mix(pid, mid):
            if team < 0:
                continue
            out.append((org.teams[team].channel, 0.55 * share))
            deps = [dep for dep in org.teams[team].deps if not plan.blocked(team, dep)]
            if plan.active and team == plan.os_t:
                deps.append(plan.os_o1)
            for dep in deps:
                out.append((org.teams[dep].help_channel, 0.10 * share / len(deps)))
        if seg.team >= 0:
            out.append((org.teams[seg.team].help_channel, 0.05))
            dept = org.depts[org.teams[seg.team].dept_at(mid)]
            out.append((dept.channel, 0.15 if manager else 0.07))
            out.append((dept.oncall_channel, 0.02))
        out.append((random_ch, 0.03))
        out.append((general, 0.04 if manager else 0.01))
        for ch in self.project_of.get(pid, []):
            out.append((ch, 0.06))
        if plan.active:
            if pid in plan.informal_people:
                ch = next(c.idx for c in org.channels if c.kind == "informal")
                out.append((ch, 0.25 * plan.s))
            if pid == plan.hi_person:
                for team in plan.hi_teams:
                    out.append((org.teams[team].help_channel, 0.3 * plan.s / len(plan.hi_teams)))
        return out

    # ------------------------------------------------------------------ helpers
    def _responders(self, ch: Channel, mid: int) -> tuple[list[int], list[float]]:
        org, plan = self.org, self.plan
        ids: list[int] = []
        ws: list[float] = []

        def add(pid: int, w: float) -> None:
            if w > 0 and org.people[pid].employed(mid):
                ids.append(pid)
                ws.append(w)

        kind = ch.kind
        if kind == "team":
            away = min(0.95, 0.88 * plan.s) if plan.active else 0.0
            for pid in ch.members:
                if self.team_m[pid] == ch.owner_team:
                    rate = org.people[pid].chat_rate
                    if plan.active and (pid == plan.mis_person
                                        or (pid == plan.lag_person and mid < plan.lag_day)):
                        rate *= 1.0 - away  # they talk where they work
                    add(pid, rate)
            if plan.active:
                if ch.owner_team == plan.mis_to:
                    add(plan.mis_person, org.people[plan.mis_person].chat_rate * 0.88 * plan.s)
                if ch.owner_team == plan.lag_to and mid < plan.lag_day:
                    add(plan.lag_person, org.people[plan.lag_person].chat_rate * 0.88 * plan.s)
        elif kind == "help":
            for pid in ch.members:
                if self.team_m[pid] == ch.owner_team:
                    add(pid, org.people[pid].chat_rate)
            if plan.active and ch.owner_team in plan.hi_teams and ws:
                add(plan.hi_person, sum(ws) * 0.5 * plan.s)
        elif kind in ("dept", "oncall"):
            for pid in ch.members:
                if self.dept_m[pid] != ch.dept:
                    continue
                if plan.active and self.team_m[pid] == plan.silo:
                    continue
                add(pid, org.people[pid].chat_rate * (2.0 if pid in self.staff else 1.0))
            if plan.active and kind == "dept" and ws and any(
                org.teams[t].dept_at(mid) == ch.dept for t in plan.hi_teams
            ):
                add(plan.hi_person, sum(ws) * 0.15 * plan.s)
        elif kind in ("general", "random"):
            for pid in ch.members:
                if plan.active and self.team_m[pid] == plan.silo:
                    continue
                add(pid, org.people[pid].chat_rate * 0.2)
        else:
            for pid in ch.members:
                add(pid, org.people[pid].chat_rate)
        return ids, list(_cumsum(ws))

    def _choose(
        self, ids: list[int], cum: list[float], avoid: list[int], group: list[int]
    ) -> int:
        """A responder not in ``avoid`` and not blocked with anyone in ``group``."""
        if not ids:
            return -1
        rng, plan = self.rng, self.plan
        for _ in range(5):
            pid = ids[min(len(ids) - 1, bisect.bisect_left(cum, rng.random() * cum[-1]))]
            if pid in avoid:
                continue
            if plan.active and any(
                plan.blocked(self.team_m.get(pid, -1), self.team_m.get(g, -1)) for g in group
            ):
                continue
            return pid
        return -1

    def _ref(self, team: int) -> str:
        rng, org = self.rng, self.org
        prs = self.code.prs_by_team.get(team)
        if prs and rng.random() < 0.4:
            return f"<https://github.com/{GITHUB_ORG}/{REPO}/pull/{rng.choice(prs)}>"
        area = org.areas[rng.choice(org.teams[team].areas)]
        return rng.choice(area.files)

    def _text(self, parts: list[str]) -> str:
        rng = self.rng
        words = [rng.choice(vocab.FILLER) for _ in range(rng.randint(2, 8))]
        for part in parts:
            words.insert(rng.randint(0, len(words)), part)
        return " ".join(words)

    def _ts(self, t: float, used: set[str]) -> str:
        # Keep every message inside its month so each day file is written exactly once.
        sec = int(min(max(t, self.lo_t), self.hi_t - 1))
        micro = self.rng.randrange(1_000_000)
        ts = f"{sec}.{micro:06d}"
        while ts in used:
            micro = (micro + 1) % 1_000_000
            ts = f"{sec}.{micro:06d}"
        used.add(ts)
        return ts

    def _msg(self, pid: int, text: str, ts: str) -> dict[str, Any]:
        return {"type": "message", "user": self.org.people[pid].slack_id, "text": text, "ts": ts}

    def _thread(
        self, ch: Channel, root_pid: int, t: float, parts: list[str], resp: tuple[list[int], list[float]],
        used: set[str], out: list[dict[str, Any]], *, bot: tuple[str, str] | None = None,
        p_thread: float | None = None, ref_team: int = -1,
    ) -> None:
        """A root message, maybe a thread of replies and reactions, appended to ``out``."""
        rng, org, cal = self.rng, self.org, self.cal
        kind = ch.kind
        ts = self._ts(t, used)
        if bot is not None:
            root: dict[str, Any] = {
                "type": "message", "subtype": "bot_message", "bot_id": bot[0],
                "username": bot[1], "text": self._text(parts), "ts": ts,
            }
            root_user = next(uid for uid, bid, _ in BOTS if bid == bot[0])
            group: list[int] = []
        else:
            root = self._msg(root_pid, self._text(parts), ts)
            root_user = org.people[root_pid].slack_id
            group = [root_pid]
        out.append(root)
        self.tally.messages += 1
        ids, cum = resp
        if rng.random() < (_THREAD_P.get(kind, 0.3) if p_thread is None else p_thread):
            n = 1 + min(7, int(rng.expovariate(0.7)))
            replies: list[tuple[str, str]] = []
            rt = t
            for _ in range(n):
                if bot is None and replies and rng.random() < 0.25:
                    pid = root_pid
                else:
                    pid = self._choose(ids, cum, [root_pid] if bot is None else [], group)
                if pid < 0:
                    continue
                rt = rt + rng.lognormvariate(math.log(20 * 60), 1.1)
                if rng.random() < 0.6:
                    rt = cal.next_working(rng, org.people[pid].tz, rt)
                if rt >= self.hi_t or not org.people[pid].employed(cal.day_of(rt)):
                    break
                rparts = []
                if ref_team >= 0 and rng.random() < 0.2:
                    rparts.append(self._ref(ref_team))
                rts = self._ts(rt, used)
                reply = self._msg(pid, self._text(rparts), rts)
                reply["thread_ts"] = ts
                if root_user:
                    reply["parent_user_id"] = root_user
                if rng.random() < 0.02:
                    reply["subtype"] = "thread_broadcast"
                out.append(reply)
                self.tally.messages += 1
                self._count(ch, pid)
                replies.append((org.people[pid].slack_id, rts))
                if pid not in group:
                    group.append(pid)
            if replies:
                users = list(dict.fromkeys(u for u, _ in replies))
                root.update({
                    "thread_ts": ts, "reply_count": len(replies), "reply_users_count": len(users),
                    "latest_reply": replies[-1][1], "reply_users": users,
                    "replies": [{"user": u, "ts": r} for u, r in replies],
                })
        if rng.random() < 0.2:
            reactors: list[str] = []
            for _ in range(rng.randint(1, 3)):
                pid = self._choose(ids, cum, [root_pid] if bot is None else [], group[:1])
                if pid >= 0:
                    reactors.append(org.people[pid].slack_id)
            reactors = list(dict.fromkeys(reactors))
            if reactors:
                root["reactions"] = [
                    {"name": rng.choice(_REACTIONS), "users": reactors, "count": len(reactors)}
                ]

    def _count(self, ch: Channel, pid: int) -> None:
        if ch.kind == "drought":
            self.tally.drought_msgs += 1
            self.tally.drought_people.add(pid)
        elif ch.kind == "informal":
            self.tally.informal_msgs += 1

    def _when(self, pid: int) -> float | None:
        rng, cal = self.rng, self.cal
        p = self.org.people[pid]
        lo = max(self.lo_day, p.hire_day)
        hi = self.hi_day if p.leave_day is None else min(self.hi_day, p.leave_day + 1)
        if lo >= hi:
            return None
        cum = cal.day_weights(lo, hi)
        day = lo + bisect.bisect_left(cum, rng.random() * cum[-1])
        return cal.work_time(rng, p.tz, day)

    def _channel(self, ch: Channel, posts: list[tuple[int, int]], mid: int) -> list[dict[str, Any]]:
        org, plan, rng, cal = self.org, self.plan, self.rng, self.cal
        resp = self._responders(ch, mid)
        used: set[str] = set()
        out: list[dict[str, Any]] = []
        kind = ch.kind
        for pid, k in posts:
            for _ in range(k):
                t = self._when(pid)
                if t is None:
                    continue
                parts: list[str] = []
                ref_team = -1
                if kind in ("team", "help"):
                    ref_team = ch.owner_team
                elif kind == "project":
                    ref_team = rng.choice(ch.teams)
                elif kind == "drought":
                    ref_team = plan.drought_team
                if kind == "informal" and rng.random() < _REF_P["informal"]:
                    parts.append(rng.choice(org.areas[plan.informal_area].files))
                elif kind == "drought":
                    if rng.random() < plan.lerp(0.0, 0.75):
                        parts.append(self._ref(ref_team))
                elif ref_team >= 0 and rng.random() < _REF_P.get(kind, 0.0):
                    parts.append(self._ref(ref_team))
                if rng.random() < _MENTION_P.get(kind, 0.05):
                    target = self._choose(resp[0], resp[1], [pid], [pid])
                    if target >= 0:
                        parts.append(f"<@{org.people[target].slack_id}>")
                self._count(ch, pid)
                self._thread(ch, pid, t, parts, resp, used, out,
                             ref_team=ref_team if kind != "drought" else -1)
        # Bots: deploy notices in team channels, pages in on-call channels.
        if kind == "team":
            merged = self.code.merged_by_team.get(ch.owner_team, 0)
            for _ in range(poisson(rng, merged * 0.12)):
                t = self.lo_t + rng.random() * (self.hi_t - self.lo_t)
                area = org.areas[org.teams[ch.owner_team].areas[0]]
                self._thread(ch, -1, t, ["deploy", area.path], resp, used, out,
                             bot=("B0DEPLOY01", "deploybot"), p_thread=0.05)
        elif kind == "oncall":
            teams = [t.idx for t in org.teams if t.dept_at(mid) == ch.dept]
            if plan.active:
                teams = [t for t in teams if t != plan.silo]
            for _ in range(poisson(rng, 0.8 * len(teams))):
                team = rng.choice(teams) if teams else -1
                if team < 0:
                    break
                t = self.lo_t + rng.random() * (self.hi_t - self.lo_t)
                members = [
                    i for i in org.members(team, cal.day_of(t)) if org.people[i].role == "ic"
                ]
                ids = members
                cum = list(_cumsum([1.0] * len(ids)))
                area = org.areas[rng.choice(org.teams[team].areas)]
                self._thread(ch, -1, t, ["alert", rng.choice(area.files)], (ids, cum), used, out,
                             bot=("B0PAGER001", "pagerbot"), p_thread=0.75)
        # Joins: hires join their team and department channels on their first day.
        if kind in ("team", "dept"):
            for pid in self.hires_m:
                p = org.people[pid]
                if pid in ch.members:
                    t = cal.work_time(rng, p.tz, p.hire_day)
                    out.append(self._join(pid, t, used))
        return out

    def _join(self, pid: int, t: float, used: set[str]) -> dict[str, Any]:
        uid = self.org.people[pid].slack_id
        return {
            "type": "message", "subtype": "channel_join", "user": uid,
            "text": f"<@{uid}> has joined the channel", "ts": self._ts(t, used),
        }

    def _incident(self, ch: Channel, inc: Incident) -> list[dict[str, Any]]:
        org, rng = self.org, self.rng
        used: set[str] = set()
        out: list[dict[str, Any]] = []
        t0 = float(ch.created)
        for k, pid in enumerate(ch.members):
            out.append(self._join(pid, t0 + 5 + k * 7, used))
        ids = list(ch.members)
        ws = [2.0 if self.team_m.get(i) == inc.team else 1.0 for i in ids]
        resp = (ids, list(_cumsum(ws)))
        area = org.areas[rng.choice(org.teams[inc.team].areas)]
        self._thread(ch, -1, t0 + 60, ["triggered", rng.choice(area.files)], resp, used, out,
                     bot=("B0PAGER001", "pagerbot"), p_thread=0.0)
        for _ in range(rng.randint(8, 20)):
            pid = ids[min(len(ids) - 1, bisect.bisect_left(resp[1], rng.random() * resp[1][-1]))]
            t = t0 + rng.random() * 30 * 3600
            if t >= self.hi_t or not org.people[pid].employed(self.cal.day_of(t)):
                continue
            parts = [self._ref(inc.team)] if rng.random() < _REF_P["incident"] else []
            if rng.random() < _MENTION_P["incident"]:
                target = self._choose(ids, resp[1], [pid], [pid])
                if target >= 0:
                    parts.append(f"<@{org.people[target].slack_id}>")
            self._thread(ch, pid, t, parts, resp, used, out, ref_team=inc.team)
        return out

    def _write(self, ch: Channel, msgs: list[dict[str, Any]]) -> None:
        msgs.sort(key=lambda x: (int(x["ts"].split(".")[0]), x["ts"]))
        by_day: dict[str, list[dict[str, Any]]] = {}
        for msg in msgs:
            day = dt.datetime.fromtimestamp(int(msg["ts"].split(".")[0]), tz=dt.UTC)
            by_day.setdefault(day.strftime("%Y-%m-%d"), []).append(msg)
        for day_name in sorted(by_day):
            data = json.dumps(by_day[day_name], ensure_ascii=False, separators=(",", ":"))
            self.zf.write(f"{ch.name}/{day_name}.json", data.encode())


def _cumsum(values: list[float]) -> list[float]:
    out, acc = [], 0.0
    for v in values:
        acc += v
        out.append(acc)
    return out
