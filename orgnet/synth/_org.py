"""The formal organisation: people, teams, departments, orgs, code areas, channels, history.

Built from one random stream that does not depend on ``null`` or ``strength``, so the null
organisation has exactly the same people and teams as the planted one.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

from orgnet._text import slugify
from orgnet.synth import _words as vocab
from orgnet.synth._clock import Calendar

__all__ = [
    "EMAIL_DOMAIN",
    "GITHUB_ORG",
    "REPO",
    "Area",
    "Channel",
    "Dept",
    "Incident",
    "Org",
    "OrgUnit",
    "Person",
    "Segment",
    "Team",
    "build_org",
]

GITHUB_ORG = "exampleco"
REPO = "monorepo"
EMAIL_DOMAIN = "example.com"
PERSONAL_DOMAIN = "example.net"
SLACK_TEAM = "T0EXAMPLE1"

_LEVELS = (("L3", 0.22), ("L4", 0.33), ("L5", 0.30), ("L6", 0.11), ("L7", 0.04))
TITLES = {
    "L3": "Software Engineer",
    "L4": "Software Engineer II",
    "L5": "Senior Software Engineer",
    "L6": "Staff Engineer",
    "L7": "Principal Engineer",
    "M1": "Engineering Manager",
    "M2": "Director of Engineering",
    "M3": "VP Engineering",
    "M4": "Chief Technology Officer",
}
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


@dataclass(slots=True)
class Segment:
    """A formal assignment valid from day index ``start`` (negative: before the period)."""

    start: int
    team: int  # -1 when the person sits above teams
    dept: int  # -1 for the root and org heads
    org: int  # -1 for the root
    manager: int  # -1 for the root
    title: str
    level: str
    status: str = "active"


@dataclass(slots=True)
class Person:
    """One employee with every identity handle the sources will show."""

    idx: int
    employee_id: str
    first: str
    last: str
    full_name: str
    preferred_name: str
    role: str  # ic, m1, m2, m3, root
    employment_type: str
    location: str
    country: str
    tz: str
    hire_day: int
    hire_date: dt.date
    work_email: str
    login: str
    github_id: int
    slack_id: str
    slack_name: str
    slack_real: str
    slack_display: str
    code_rate: float = 0.0
    chat_rate: float = 0.0
    review_w: float = 1.0
    leave_day: int | None = None
    other_emails: list[str] = field(default_factory=list)
    git_ids: list[tuple[str, str]] = field(default_factory=list)
    git_cum: list[float] = field(default_factory=list)
    old_login: str | None = None
    rename_day: int | None = None
    segments: list[Segment] = field(default_factory=list)

    def segment(self, day: int) -> Segment:
        """The formal assignment on day ``day``."""
        current = self.segments[0]
        for seg in self.segments:
            if seg.start <= day:
                current = seg
            else:
                break
        return current

    def employed(self, day: int) -> bool:
        """True when the person works on day ``day``."""
        return self.hire_day <= day and (self.leave_day is None or day <= self.leave_day)


@dataclass(slots=True)
class Area:
    """A code area (directory) and the team CODEOWNERS names for it."""

    idx: int
    path: str  # "services/payments-api/" (no leading slash, trailing slash)
    owner: int  # team index, -1 when unowned
    kind: str  # services, libs, tools, labs
    files: list[str]
    cum: list[float]
    special: bool = False  # reserved for a planted stream: ordinary changes avoid it


@dataclass(slots=True)
class Team:
    """The smallest formal unit."""

    idx: int
    name: str
    slug: str
    manager: int
    areas: list[int] = field(default_factory=list)
    deps: list[int] = field(default_factory=list)
    dept_history: list[tuple[int, int]] = field(default_factory=list)  # (start day, dept)
    channel: int = -1
    help_channel: int = -1

    def dept_at(self, day: int) -> int:
        """Department of the team on day ``day``."""
        current = self.dept_history[0][1]
        for start, dept in self.dept_history:
            if start <= day:
                current = dept
        return current


@dataclass(slots=True)
class Dept:
    """A department: teams under one director."""

    idx: int
    name: str
    slug: str
    org: int
    head: int
    channel: int = -1
    oncall_channel: int = -1


@dataclass(slots=True)
class OrgUnit:
    """A top-level org under one VP."""

    idx: int
    name: str
    slug: str
    head: int


@dataclass(slots=True)
class Channel:
    """A Slack channel and who belongs to it."""

    idx: int
    cid: str
    name: str
    kind: str  # general, random, team, help, dept, oncall, project, incident
    created: int  # epoch seconds
    members: list[int]
    owner_team: int = -1
    dept: int = -1
    teams: list[int] = field(default_factory=list)
    archived: bool = False


@dataclass(slots=True)
class Incident:
    """An incident: a dedicated channel opened on ``day`` about ``team``'s service."""

    day: int
    team: int
    channel: int


@dataclass(slots=True)
class Org:
    """The whole formal organisation and its static infrastructure."""

    cal: Calendar
    people: list[Person]
    teams: list[Team]
    depts: list[Dept]
    orgs: list[OrgUnit]
    areas: list[Area]
    channels: list[Channel]
    incidents: list[Incident]
    root: int
    reorg_day: int
    moved_team: int
    moved_from: int
    moved_to: int
    leavers: list[int]
    hires: list[int]
    promotions: list[tuple[int, int, str]]  # (person, day, new level)
    user_owners: list[tuple[str, int]]  # (file path, person) CODEOWNERS @user rules
    reserved: set[int] = field(default_factory=set)  # people the plan may use
    _ever: dict[int, list[int]] | None = None

    def reset_cache(self) -> None:
        """Forget cached team rosters (call after changing segments)."""
        self._ever = None

    def unit_id(self, team: int, day: int) -> str:
        """``org/department/team`` slug path of ``team`` on ``day``."""
        t = self.teams[team]
        d = self.depts[t.dept_at(day)]
        return f"{self.orgs[d.org].slug}/{d.slug}/{t.slug}"

    def dept_unit_id(self, dept: int) -> str:
        """``org/department`` slug path."""
        d = self.depts[dept]
        return f"{self.orgs[d.org].slug}/{d.slug}"

    def members(self, team: int, day: int) -> list[int]:
        """Employees formally in ``team`` on ``day``, in index order."""
        if self._ever is None:
            ever: dict[int, list[int]] = {}
            for p in self.people:
                for t in dict.fromkeys(seg.team for seg in p.segments):
                    ever.setdefault(t, []).append(p.idx)
            self._ever = ever
        return [
            i for i in self._ever.get(team, [])
            if self.people[i].employed(day) and self.people[i].segment(day).team == team
        ]


def _ascii(value: str) -> str:
    return slugify(value).replace("-", "")


def _unique_combos(
    rng: random.Random, left: list[str], right: list[str], n: int, *, fmt: str = "{} {}"
) -> list[str]:
    combos = [fmt.format(a, b) for a in left for b in right]
    rng.shuffle(combos)
    out = combos[:n]
    k = 2
    while len(out) < n:  # more units than combinations: number them
        out.extend(f"{c} {k}" for c in combos[: n - len(out)])
        k += 1
    return out


def _rand_id(rng: random.Random, prefix: str, length: int, used: set[str]) -> str:
    while True:
        value = prefix + "".join(rng.choice(_ALNUM) for _ in range(length))
        if value not in used:
            used.add(value)
            return value


def _partition(rng: random.Random, total: int, lo: int, hi: int) -> list[int]:
    """Sizes in ``[lo, hi]`` summing to ``total`` (total >= lo)."""
    n = max(1, round(total / ((lo + hi) / 2)))
    while n * hi < total:
        n += 1
    while n > 1 and n * lo > total:
        n -= 1
    sizes = [total // n] * n
    for i in range(total - sum(sizes)):
        sizes[i % n] += 1
    for _ in range(n * 3):  # jiggle while staying in range
        a, b = rng.randrange(n), rng.randrange(n)
        step = rng.randint(1, 2)
        if a != b and sizes[a] + step <= hi and sizes[b] - step >= lo:
            sizes[a] += step
            sizes[b] -= step
    return sizes


def build_org(seed: int, people: int, months: int, start: dt.date) -> Org:
    """Build the formal organisation (deterministic in ``seed``, ``people``, ``months``, ``start``)."""
    rng = random.Random(f"orgnet-synth/{seed}/org")
    zones = sorted({loc[2] for loc in vocab.LOCATIONS})
    cal = Calendar(start, months, zones)
    n_hires = max(1, round(people * 0.05 * months / 12))
    # Structure sizes: teams of 5-10 at the start (room for hires and moves within 4-12).
    est_teams = max(2, round(people / 8.2))
    per_dept = min(12.0, max(3.5, est_teams**0.35))
    n_depts = max(2, round(est_teams / per_dept))
    n_orgs = max(1, min(n_depts // 2, round(n_depts**0.5)))
    core = people - n_hires - 1 - n_orgs - n_depts
    if core < 10:
        raise ValueError(f"people={people} is too small for an organisation (need at least 20)")
    sizes = _partition(rng, core, 5, 10)
    n_teams = len(sizes)
    n_depts = max(1, min(n_depts, n_teams // 2))
    n_orgs = max(1, min(n_orgs, n_depts))
    # Reconcile the head count after clamping the unit counts.
    extra = people - n_hires - 1 - n_orgs - n_depts - sum(sizes)
    i = 0
    while extra != 0:
        j = i % n_teams
        if extra > 0 and sizes[j] < 10:
            sizes[j] += 1
            extra -= 1
        elif extra < 0 and sizes[j] > 5:
            sizes[j] -= 1
            extra += 1
        i += 1
        if i > 100 * n_teams:
            raise ValueError(f"cannot lay out {people} people in teams of 4-12")

    # Names of units.
    team_names = _unique_combos(rng, list(vocab.TEAM_DOMAINS), list(vocab.TEAM_SUFFIXES), n_teams)
    if n_depts <= len(vocab.DEPARTMENT_WORDS):
        dept_names = rng.sample(list(vocab.DEPARTMENT_WORDS), n_depts)
    else:
        dept_names = _unique_combos(
            rng, list(vocab.DEPARTMENT_WORDS), list(vocab.DEPARTMENT_SUFFIXES), n_depts
        )
    org_words = list(vocab.ORG_WORDS)
    if n_orgs <= len(org_words):
        org_names = [f"{w} Engineering" for w in rng.sample(org_words, n_orgs)]
    else:
        org_names = _unique_combos(rng, org_words, list(vocab.DEPARTMENT_SUFFIXES), n_orgs)

    # Departments to orgs, teams to departments (contiguous blocks, every block non-empty).
    dept_org = [min(n_orgs - 1, d * n_orgs // n_depts) for d in range(n_depts)]
    team_dept = [min(n_depts - 1, t * n_depts // n_teams) for t in range(n_teams)]

    # People: names, places, identities.
    name_pairs = [(f, la) for f in vocab.FIRST_NAMES for la in vocab.LAST_NAMES]
    if people > len(name_pairs):
        # Very large organisations also get middle initials (only then, so every organisation
        # that fits the plain names, the bundled sample included, is unchanged).
        name_pairs += [(f"{f} {m}.", la) for m in "ABCDEFGHIJKLMNOPRSTVW"
                       for f in vocab.FIRST_NAMES for la in vocab.LAST_NAMES]
    if people > len(name_pairs):
        raise ValueError(f"people={people} exceeds the {len(name_pairs)} distinct sample names")
    chosen = rng.sample(name_pairs, people)
    used_ids: set[str] = set()
    used_logins: set[str] = set()
    used_gh: set[int] = set()
    used_emails: set[str] = set()
    loc_cum: list[float] = []
    acc = 0.0
    for loc in vocab.LOCATIONS:
        acc += loc[3]
        loc_cum.append(acc)

    def pick_location(home: int | None) -> tuple[str, str, str]:
        if home is not None and rng.random() < 0.8:
            loc = vocab.LOCATIONS[home]
        else:
            loc = rng.choices(vocab.LOCATIONS, cum_weights=loc_cum)[0]
        return loc[0], loc[1], loc[2]

    persons: list[Person] = []

    def new_person(role: str, home: int | None, hire_day: int) -> Person:
        idx = len(persons)
        first, last = chosen[idx]
        full = f"{first} {last}"
        base = f"{_ascii(first)}.{_ascii(last)}"
        email = f"{base}@{EMAIL_DOMAIN}"
        k = 2
        while email in used_emails:
            email = f"{base}{k}@{EMAIL_DOMAIN}"
            k += 1
        used_emails.add(email)
        style = rng.randrange(4)
        f_, l_ = _ascii(first), _ascii(last)
        login = [f"{f_}{l_[0]}", f"{f_[0]}{l_}", f"{f_}-{l_}", f"{f_}{l_}{rng.randint(1, 99)}"][
            style
        ]
        while login in used_logins:
            login = f"{login}{rng.randint(0, 9)}"
        used_logins.add(login)
        gid = rng.randint(1_000_000, 199_999_999)
        while gid in used_gh:
            gid += 1
        used_gh.add(gid)
        location, country, tz = pick_location(home)
        preferred = ""
        slack_real = full
        if rng.random() < 0.08:
            preferred = rng.choice(vocab.NICKNAMES).capitalize()
            slack_real = f"{preferred} {last}"
        r = rng.random()
        display = first if r < 0.7 else (f"{first} {last[0]}." if r < 0.9 else rng.choice(vocab.NICKNAMES))
        hire_date = start + dt.timedelta(days=hire_day)
        person = Person(
            idx=idx,
            employee_id=f"E{idx + 1:05d}",
            first=first,
            last=last,
            full_name=full,
            preferred_name=preferred,
            role=role,
            employment_type="employee",
            location=location,
            country=country,
            tz=tz,
            hire_day=hire_day,
            hire_date=hire_date,
            work_email=email,
            login=login,
            github_id=gid,
            slack_id=_rand_id(rng, "U0", 9, used_ids),
            slack_name=base.replace(".", "_") if rng.random() < 0.2 else base,
            slack_real=slack_real,
            slack_display=display,
        )
        # Commit identities: most use the work address, some a personal or noreply address.
        git_name = full if rng.random() > 0.08 else login
        r = rng.random()
        if r < 0.6:
            ids, weights = [(git_name, email)], [1.0]
        elif r < 0.75:
            personal = f"{f_}{l_[0]}{rng.randint(1, 999)}@{PERSONAL_DOMAIN}"
            person.other_emails.append(personal)
            ids, weights = [(git_name, personal)], [1.0]
        elif r < 0.87:
            noreply = f"{gid}+{login}@users.noreply.github.com"
            person.other_emails.append(noreply)
            ids, weights = [(git_name, noreply)], [1.0]
        else:
            personal = f"{f_}.{l_}.dev@{PERSONAL_DOMAIN}"
            person.other_emails.append(personal)
            ids, weights = [(full, email), (git_name, personal)], [0.6, 1.0]
        person.git_ids = ids
        person.git_cum = weights
        persons.append(person)
        return person

    def past_hire(years: float) -> int:
        return -rng.randint(30, max(31, int(365 * years)))

    root = new_person("root", None, past_hire(8))
    org_units: list[OrgUnit] = []
    for o in range(n_orgs):
        head = new_person("m3", None, past_hire(7))
        org_units.append(OrgUnit(o, org_names[o], slugify(org_names[o]), head.idx))
    depts: list[Dept] = []
    for d in range(n_depts):
        head = new_person("m2", None, past_hire(6))
        depts.append(Dept(d, dept_names[d], slugify(dept_names[d]), dept_org[d], head.idx))
    teams: list[Team] = []
    team_home: list[int] = []
    # Departments are mostly co-located, so most of a team's neighbours share its hours.
    dept_home = [
        rng.choices(range(len(vocab.LOCATIONS) - 1), cum_weights=loc_cum[:-1])[0]
        for _ in range(n_depts)
    ]
    for t in range(n_teams):
        home = dept_home[team_dept[t]]
        if rng.random() < 0.25:
            home = rng.choices(range(len(vocab.LOCATIONS) - 1), cum_weights=loc_cum[:-1])[0]
        team_home.append(home)
        lead = new_person("m1", home, past_hire(5))
        teams.append(
            Team(t, team_names[t], slugify(team_names[t]), lead.idx,
                 dept_history=[(-10_000, team_dept[t])])
        )
        for _ in range(sizes[t] - 1):
            new_person("ic", home, past_hire(6))

    # Segments: levels and managers.
    root.segments.append(Segment(root.hire_day, -1, -1, -1, -1, TITLES["M4"], "M4"))
    for ou in org_units:
        vp = persons[ou.head]
        vp.segments.append(Segment(vp.hire_day, -1, -1, ou.idx, root.idx, TITLES["M3"], "M3"))
    for dp in depts:
        director = persons[dp.head]
        boss = org_units[dp.org].head
        director.segments.append(
            Segment(director.hire_day, -1, dp.idx, dp.org, boss, TITLES["M2"], "M2")
        )
    level_names = [lv for lv, _ in _LEVELS]
    level_cum = []
    acc = 0.0
    for _, w in _LEVELS:
        acc += w
        level_cum.append(acc)
    cursor = 1 + n_orgs + n_depts
    for t, team in enumerate(teams):
        d = team_dept[t]
        mgr = persons[team.manager]
        mgr.segments.append(
            Segment(mgr.hire_day, t, d, dept_org[d], depts[d].head, TITLES["M1"], "M1")
        )
        for i in range(cursor + 1, cursor + sizes[t]):
            p = persons[i]
            level = rng.choices(level_names, cum_weights=level_cum)[0]
            if rng.random() < 0.05:
                p.employment_type = "contractor"
            elif level == "L3" and rng.random() < 0.08:
                p.employment_type = "intern"
            p.segments.append(Segment(p.hire_day, t, d, dept_org[d], team.manager, TITLES[level], level))
        cursor += sizes[t]

    # Hires during the period, into teams with room.
    hires: list[int] = []
    for k in range(n_hires):
        day = cal.month_starts[0] + (k + 1) * cal.n_days // (n_hires + 2) + rng.randint(-5, 5)
        day = max(1, min(cal.n_days - 15, day))
        # Monday is the usual start day.
        while cal.weekend[day] or cal.date(day).weekday() != 0:
            day += 1
            if day >= cal.n_days - 1:
                day = cal.n_days - 2
                break
        roomy = [t for t in range(n_teams) if sizes[t] <= 9]
        t = rng.choice(roomy) if roomy else rng.randrange(n_teams)
        sizes[t] += 1
        p = new_person("ic", team_home[t], day)
        d = team_dept[t]
        level = rng.choice(["L3", "L3", "L4", "L5"])
        p.segments.append(Segment(day, t, d, dept_org[d], teams[t].manager, TITLES[level], level))
        hires.append(p.idx)

    # Activity rates: heavy-tailed, with no single person dominating a team's code.
    for p in persons:
        a = rng.lognormvariate(0.0, 0.95)
        b = rng.lognormvariate(0.0, 0.7)
        factor = {"ic": 1.0, "m1": 0.15, "m2": 0.02, "m3": 0.01, "root": 0.0}[p.role]
        p.code_rate = 3.6 * a * factor
        p.chat_rate = 15.0 * b * {"ic": 1.0, "m1": 1.2, "m2": 0.8, "m3": 0.4, "root": 0.2}[p.role]
        p.review_w = rng.uniform(0.75, 1.25) * (0.5 if p.role == "m1" else 1.0)
    for t in range(n_teams):
        ids = [p.idx for p in persons if p.segments and p.segments[0].team == t]
        total = sum(persons[i].code_rate for i in ids)
        for i in ids:  # cap any one person at 45% of the team's code
            persons[i].code_rate = min(persons[i].code_rate, 0.45 * total)
    for p in persons:
        level = p.segments[0].level
        if level in ("L6", "L7"):
            p.review_w *= 1.4

    # Reorg: one team moves to another department of the same org (or any other department).
    reorg_day = cal.month_starts[max(1, round(months * 0.4))] if months > 1 else cal.n_days // 2
    movable = [t for t in range(n_teams) if sum(1 for x in team_dept if x == team_dept[t]) >= 3]
    moved = rng.choice(movable) if movable else 0
    src = team_dept[moved]
    targets = [d for d in range(n_depts) if d != src and dept_org[d] == dept_org[src]]
    if not targets:
        targets = [d for d in range(n_depts) if d != src]
    dst = rng.choice(targets) if targets else src
    teams[moved].dept_history.append((reorg_day, dst))

    org = Org(
        cal=cal,
        people=persons,
        teams=teams,
        depts=depts,
        orgs=org_units,
        areas=[],
        channels=[],
        incidents=[],
        root=root.idx,
        reorg_day=reorg_day,
        moved_team=moved,
        moved_from=src,
        moved_to=dst,
        leavers=[],
        hires=hires,
        promotions=[],
        user_owners=[],
    )
    for pid in [x.idx for x in persons if x.segments[0].team == moved]:
        mover = persons[pid]
        seg = mover.segments[-1]
        manager = depts[dst].head if mover.role == "m1" else seg.manager
        if mover.hire_day < reorg_day:
            mover.segments.append(
                Segment(reorg_day, moved, dst, dept_org[dst], manager, seg.title, seg.level)
            )
    _build_areas(org, rng)
    _build_deps(org, rng, team_dept)
    return org


def _build_areas(org: Org, rng: random.Random) -> None:
    def area(path: str, owner: int, kind: str, extra: tuple[str, ...] = ()) -> int:
        n = rng.randint(6, 14)
        files = sorted(rng.sample(list(vocab.AREA_FILES), n)) + list(extra)
        if rng.random() < 0.5:
            files.append(f"internal/{rng.choice(vocab.AREA_FILES)}")
        files = [f"{path}{f}" for f in files] + [f"{path}tests/test_{rng.choice(vocab.AREA_FILES)}"]
        files = list(dict.fromkeys(files))
        # Zipf-like popularity: a few hot files, a long tail.
        order = list(range(len(files)))
        rng.shuffle(order)
        cum, acc = [], 0.0
        for rank in order:
            acc += 1.0 / (1 + rank)
            cum.append(acc)
        a = Area(len(org.areas), path, owner, kind, files, cum)
        org.areas.append(a)
        if owner >= 0:
            org.teams[owner].areas.append(a.idx)
        return a.idx

    for t in org.teams:
        area(f"services/{t.slug}/", t.idx, "services")
        area(f"libs/{t.slug}/", t.idx, "libs", ("requirements.txt",))
        if rng.random() < 0.35:
            area(f"tools/{t.slug}/", t.idx, "tools")


def _build_deps(org: Org, rng: random.Random, team_dept: list[int]) -> None:
    n = len(org.teams)
    indegree = [0] * n
    for t in org.teams:
        # Few teams depend on any one library: the owners stay its main authors.
        same = [u for u in range(n) if u != t.idx and team_dept[u] == team_dept[t.idx]]
        other = [u for u in range(n) if u != t.idx and team_dept[u] != team_dept[t.idx]]
        k = rng.choice((1, 2, 2, 3))
        deps: list[int] = []
        for _ in range(k):
            pool = same if (same and rng.random() < 0.7) or not other else other
            pool = [u for u in pool if u not in deps and indegree[u] < 3]
            if pool:
                dep = rng.choice(pool)
                deps.append(dep)
                indegree[dep] += 1
        t.deps = deps


def add_codename_area(org: Org, rng: random.Random, prefix: str, owner: int, used: set[str]) -> int:
    """A ``<prefix>/<codename>/`` area (used by the plan for shared or hand-over code)."""
    names = [c for c in vocab.CODENAMES if c not in used]
    name = rng.choice(names) if names else f"area{len(org.areas)}"
    used.add(name)
    n = rng.randint(6, 10)
    files = [f"{prefix}/{name}/{f}" for f in sorted(rng.sample(list(vocab.AREA_FILES), n))]
    cum = [float(i + 1) for i in range(len(files))]
    a = Area(len(org.areas), f"{prefix}/{name}/", owner, prefix, files, cum)
    org.areas.append(a)
    if owner >= 0:
        org.teams[owner].areas.append(a.idx)
    return a.idx


def pick_leavers_and_promotions(org: Org, rng: random.Random, months: int, avoid: set[int]) -> None:
    """Leavers (ICs in teams that stay >= 5) and a few promotions, avoiding planted people."""
    cal = org.cal
    n_people = len(org.people)
    n_leavers = max(1, round(n_people * 0.06 * months / 12))
    ics = [
        p.idx for p in org.people
        if p.role == "ic" and p.idx not in avoid and p.hire_day < 0 and p.segments[0].team >= 0
    ]
    rng.shuffle(ics)
    team_size = {t.idx: len(org.members(t.idx, 0)) for t in org.teams}
    for pid in ics:
        if len(org.leavers) >= n_leavers:
            break
        p = org.people[pid]
        team = p.segments[0].team
        if team_size[team] < 6 or len(p.segments) > 1:
            continue
        day = rng.randint(max(10, cal.n_days // 6), cal.n_days - 8)
        while cal.weekend[day]:
            day -= 1
        p.leave_day = day
        team_size[team] -= 1
        org.leavers.append(pid)
    rest = [i for i in ics if i not in org.leavers]
    for pid in rest[: max(1, n_people // 60)]:
        p = org.people[pid]
        level = p.segments[-1].level
        nxt = {"L3": "L4", "L4": "L5", "L5": "L6"}.get(level)
        if nxt is None or len(p.segments) > 1:
            continue
        day = cal.month_starts[min(months - 1, max(1, months // 2))]
        seg = p.segments[-1]
        p.segments.append(
            Segment(day, seg.team, seg.dept, seg.org, seg.manager, TITLES[nxt], nxt)
        )
        org.promotions.append((pid, day, nxt))


def finalize_segments(org: Org) -> None:
    """Derive department/org of team segments from the team's department history."""
    org.reset_cache()
    for p in org.people:
        fixed: list[Segment] = []
        for seg in p.segments:
            if seg.team >= 0:
                d = org.teams[seg.team].dept_at(max(seg.start, -9999))
                seg.dept = d
                seg.org = org.depts[d].org
            fixed.append(seg)
        p.segments = sorted(fixed, key=lambda s: s.start)


def level_rank(level: str) -> int:
    """Numeric rank of an IC level (``L4`` -> 4); managers rank above ICs."""
    return int(level[1:]) + (10 if level.startswith("M") else 0)


def median_ic_level(org: Org) -> int:
    """Median IC level rank at the start of the period."""
    ranks = sorted(level_rank(p.segments[0].level) for p in org.people if p.role == "ic")
    return ranks[len(ranks) // 2] if ranks else 4


def isqrt_ceil(x: float) -> int:
    """Ceiling of a square root (small helper for sizing)."""
    return math.ceil(math.sqrt(x))
