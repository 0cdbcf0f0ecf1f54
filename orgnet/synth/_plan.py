"""Who and what is planted: one instance of every finding kind, chosen from the org.

The plan is always chosen (from its own random stream) so that the null organisation is the
same organisation; ``active`` says whether its effects are applied.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from orgnet.synth._org import (
    TITLES,
    Org,
    Segment,
    add_codename_area,
    level_rank,
    median_ic_level,
)

__all__ = ["Plan", "choose_plan"]


@dataclass(slots=True)
class Plan:
    """Planted roles (team and person indices) and the strength they are planted at."""

    active: bool
    s: float
    gk_team: int = -1
    gk_person: int = -1
    gk_sources: list[int] = field(default_factory=list)
    bn_team: int = -1
    bn_person: int = -1
    bs_a: int = -1  # edits bs_b's library heavily, with no contact
    bs_b: int = -1
    os_t: int = -1  # depends on os_o1 and os_o2 (same department), talks to os_o1 only
    os_o1: int = -1
    os_o2: int = -1
    os_dept: int = -1
    silo: int = -1
    silo_targets: list[int] = field(default_factory=list)
    informal_people: list[int] = field(default_factory=list)
    informal_area: int = -1
    mis_person: int = -1
    mis_from: int = -1
    mis_to: int = -1
    lag_person: int = -1
    lag_from: int = -1
    lag_to: int = -1
    lag_day: int = -1
    hi_person: int = -1
    hi_teams: list[int] = field(default_factory=list)
    drought_team: int = -1
    drought_people: list[int] = field(default_factory=list)
    island_team: int = -1
    island_person: int = -1
    island_area: int = -1
    drift_owner: int = -1
    drift_actual: int = -1
    drift_area: int = -1
    blocked_pairs: set[tuple[int, int]] = field(default_factory=set)
    people: set[int] = field(default_factory=set)

    def blocked(self, ta: int, tb: int) -> bool:
        """True when planted teams ``ta`` and ``tb`` must show no review or chat contact."""
        if not self.active or ta == tb:
            return False
        if self.silo in (ta, tb):
            return True
        return (ta, tb) in self.blocked_pairs

    def lerp(self, normal: float, planted: float) -> float:
        """``normal`` moved towards ``planted`` by the strength (absent when inactive)."""
        if not self.active:
            return normal
        return normal + self.s * (planted - normal)


def choose_plan(org: Org, *, seed: int, active: bool, strength: float) -> Plan:
    """Pick the planted teams and people (identical choices in null and planted mode)."""
    rng = random.Random(f"orgnet-synth/{seed}/plan")
    plan = Plan(active=active and strength > 0, s=max(0.0, strength))
    n_teams = len(org.teams)
    day0 = 0
    size = {t.idx: len(org.members(t.idx, day0)) for t in org.teams}
    dept_of = {t.idx: t.dept_at(day0) for t in org.teams}
    used: set[int] = {org.moved_team}
    shared: set[int] = set()
    hard: set[int] = set()  # teams whose isolation must not be disturbed by other plants

    def take(
        pred: Callable[[int], bool] | None = None, *, exclusive: bool = True, min_size: int = 4
    ) -> int:
        cands = [
            t for t in range(n_teams)
            if t not in used and size[t] >= min_size and (pred is None or pred(t))
        ]
        if not cands:
            cands = [
                t for t in range(n_teams)
                if t in shared and size[t] >= min_size and (pred is None or pred(t))
            ]
        if not cands:
            cands = [
                t for t in range(n_teams)
                if t not in hard and size[t] >= min_size and (pred is None or pred(t))
            ]
        if not cands:
            raise ValueError(
                f"the organisation has too few teams ({n_teams}) to plant every finding; "
                "use more people (at least 100)"
            )
        t = rng.choice(cands)
        used.add(t)  # later picks prefer other teams; only exclusive ones may not be reused
        if not exclusive:
            shared.add(t)
        return t

    def ics(team: int, *, max_rank: int = 99, min_rank: int = 0) -> list[int]:
        return [
            i for i in org.members(team, day0)
            if org.people[i].role == "ic" and i not in plan.people
            and min_rank <= level_rank(org.people[i].segments[0].level) <= max_rank
            and org.people[i].hire_day < 0
        ]

    # One-sided relationship: O1 and O2 under one department, T elsewhere.
    big_depts = [
        d.idx for d in org.depts
        if sum(1 for t in range(n_teams) if dept_of[t] == d.idx and t not in used) >= 2
    ]
    plan.os_dept = rng.choice(big_depts) if big_depts else dept_of[0]
    plan.os_o1 = take(lambda t: dept_of[t] == plan.os_dept)
    plan.os_o2 = take(lambda t: dept_of[t] == plan.os_dept)
    plan.os_t = take(lambda t: dept_of[t] != plan.os_dept)
    hard.update({plan.os_t, plan.os_o2})
    # Dependency without contact: two teams in different departments.
    plan.bs_b = take()
    plan.bs_a = take(lambda t: dept_of[t] != dept_of[plan.bs_b])
    hard.update({plan.bs_a, plan.bs_b})
    plan.silo = take(min_size=5)
    hard.add(plan.silo)
    plan.gk_team = take(min_size=7) if any(size[t] >= 7 for t in range(n_teams)) else take()
    plan.bn_team = take(min_size=5)
    plan.drought_team = take()
    plan.island_team = take()
    review_units = (plan.bn_team, plan.gk_team)  # their review statistics must stay clean

    def clean(t: int) -> bool:
        return t not in review_units

    plan.drift_owner = take(clean)
    plan.drift_actual = take(lambda t: clean(t) and t != plan.drift_owner, exclusive=False)
    mis_from = take(clean, min_size=5, exclusive=False)
    mis_to = take(lambda t: clean(t) and t != mis_from, exclusive=False)
    lag_from = take(lambda t: clean(t) and t not in (mis_from, mis_to), min_size=5,
                    exclusive=False)
    lag_to = take(lambda t: clean(t) and t not in (mis_from, mis_to, lag_from) and size[t] <= 10,
                  exclusive=False)
    # Informal team: one IC from each of three teams (plus a second from the first team).
    informal_teams: list[int] = []
    for _ in range(3):
        informal_teams.append(
            take(lambda t: clean(t) and t not in informal_teams and t not in hard,
                 exclusive=False)
        )
    hi_home = take(lambda t: t not in hard, exclusive=False)

    plan.blocked_pairs = {
        (plan.bs_a, plan.bs_b), (plan.bs_b, plan.bs_a),
        (plan.os_t, plan.os_o2), (plan.os_o2, plan.os_t),
    }
    # People.
    plan.gk_person = max(ics(plan.gk_team), key=lambda i: level_rank(org.people[i].segments[0].level))
    plan.people.add(plan.gk_person)
    plan.bn_person = max(ics(plan.bn_team), key=lambda i: org.people[i].review_w)
    plan.people.add(plan.bn_person)
    island_cands = ics(plan.island_team)
    plan.island_person = max(island_cands, key=lambda i: org.people[i].code_rate)
    plan.people.add(plan.island_person)
    plan.mis_person = rng.choice(ics(mis_from))
    plan.mis_from, plan.mis_to = mis_from, mis_to
    plan.people.add(plan.mis_person)
    plan.lag_person = rng.choice(ics(lag_from))
    plan.lag_from, plan.lag_to = lag_from, lag_to
    plan.people.add(plan.lag_person)
    for k, t in enumerate(informal_teams + informal_teams[:1]):
        cands = ics(t) or [i for i in org.members(t, day0) if org.people[i].role == "ic"]
        pick = rng.choice(cands)
        if k == 3 and (pick in plan.informal_people or len(cands) < 2):
            continue
        plan.informal_people.append(pick)
        plan.people.add(pick)
    median = median_ic_level(org)
    hi_cands = ics(hi_home, max_rank=min(median, 4))
    if not hi_cands:
        hi_cands = ics(hi_home, max_rank=median) or ics(hi_home)
    plan.hi_person = rng.choice(hi_cands)
    plan.people.add(plan.hi_person)
    # Make the influencer's level explicit: at or below the median, never a manager.
    hi = org.people[plan.hi_person]
    if level_rank(hi.segments[0].level) > median:
        lv = f"L{median}"
        seg = hi.segments[0]
        hi.segments[0] = Segment(seg.start, seg.team, seg.dept, seg.org, seg.manager, TITLES[lv], lv)
    pool = [
        t for t in range(n_teams)
        if t not in hard and t not in (hi_home, plan.bn_team, plan.gk_team, plan.drought_team)
    ]
    rng.shuffle(pool)
    plan.hi_teams = sorted(pool[: max(5, min(12, math.ceil(n_teams * 0.5)))])
    # Gatekeeper sources: teams that send changes into the gatekeeper's library.
    srcs = [t for t in range(n_teams) if t not in hard and t != plan.gk_team]
    rng.shuffle(srcs)
    plan.gk_sources = sorted(srcs[:3])
    # Silo co-edits into three other teams' libraries.
    tg = [t for t in range(n_teams) if t not in hard and t != plan.silo]
    rng.shuffle(tg)
    plan.silo_targets = sorted(tg[:3])
    # Drought channel: people from two or three teams other than the drought team.
    dteams = [t for t in range(n_teams) if t not in hard and t != plan.drought_team]
    rng.shuffle(dteams)
    dpeople: list[int] = []
    for t in dteams[:3]:
        cands = [i for i in ics(t) if i not in dpeople]
        rng.shuffle(cands)
        dpeople.extend(cands[:2])
    plan.drought_people = dpeople[:6]
    plan.people.update(plan.drought_people)
    # The lag move: effective two thirds into the period (or in the last month).
    months = org.cal.months
    plan.lag_day = org.cal.month_starts[max(1, min(months - 1, round(months * 0.67)))]
    # Areas: a hand-over area (owned by drift_owner) and, when planting, a shared lab area.
    names: set[str] = set()
    plan.drift_area = add_codename_area(org, rng, "libs", plan.drift_owner, names)
    island_tools = [a for a in org.teams[plan.island_team].areas if org.areas[a].kind == "tools"]
    if not island_tools:
        island_tools = [add_codename_area(org, rng, "tools", plan.island_team, names)]
    plan.island_area = island_tools[0]
    if plan.active:
        # The bottleneck reviews far more than they write.
        team_rate = sum(org.people[i].code_rate for i in org.members(plan.bn_team, 0))
        bn = org.people[plan.bn_person]
        bn.code_rate = plan.lerp(bn.code_rate, min(bn.code_rate, 0.06 * team_rate))
        plan.informal_area = add_codename_area(org, rng, "labs", -1, names)
        org.areas[plan.drift_area].special = True
        org.areas[plan.island_area].special = True
        org.areas[plan.informal_area].special = True
        # The formal move that lags the informal one.
        p = org.people[plan.lag_person]
        seg = p.segments[-1]
        mgr = org.teams[plan.lag_to].manager
        p.segments.append(
            Segment(plan.lag_day, plan.lag_to, -1, -1, mgr, seg.title, seg.level)
        )
    # Normal dependencies must not blur the planted ones (identical in both modes).
    for team in org.teams:
        team.deps = [
            d for d in team.deps
            if d not in (plan.silo, plan.bn_team)
            and not (team.idx == plan.os_t and org.teams[d].dept_at(0) == plan.os_dept)
            and {team.idx, d} != {plan.bs_a, plan.bs_b}
        ]
    org.reserved = set(plan.people)
    return plan
