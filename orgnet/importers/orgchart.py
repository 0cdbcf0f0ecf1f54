"""Org chart importer: HRIS exports and membership lists -> people, units, memberships, identities.

Two shapes (FORMATS §16):

``hris``
    One row per person per effective-dated change (a snapshot export is the degenerate case), with
    the canonical columns of FORMATS §16.2 or common vendor headers (Workday, BambooHR, Rippling,
    generic "Employee ID / Manager ID / Department / Team / Work Email"). Rows become
    effective-dated memberships (SCD type 2: row *k* holds on ``[effective_k, effective_k+1)``),
    the units form a tree (org > division > department > team, whatever levels the file has), the
    manager chain is kept per membership, identity columns become identity claims.

``membership``
    A list ``person, unit, role, valid_from[, valid_to]`` (or ``snapshot_date``) plus an optional
    people file (``github, github_id, name, email``) and units file (``team, kind, subteam_of``):
    formal structures that are not HR charts, such as the Rust project's teams.

Validation (FORMATS §16.4): manager cycles (broken at the most recent edge), unknown managers,
duplicate work e-mails on one date, ambiguous dates (``03/04/2024``), formula-like cells (kept as
text) and vacant positions each land in ``rejects`` with file, line and reason.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import polars as pl

from orgnet._text import clean, is_formula_like, normalize_email, slugify, stable_hash
from orgnet.exceptions import ConfigError, InputError
from orgnet.identity import claim_rows
from orgnet.importers._base import Identity, ImportBuilder, ImportResult, gc_paused
from orgnet.importers.tabular import Table, TableRow, read_table
from orgnet.schema import SCHEMAS

__all__ = [
    "CANONICAL_FIELDS",
    "IDENTITY_COLUMNS",
    "LEVEL_FIELDS",
    "MEMBERSHIP_FIELDS",
    "Shape",
    "detect",
    "import_orgchart",
    "map_columns",
    "parse_date",
]

Shape = Literal["auto", "hris", "membership"]


def _n(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


#: Canonical HRIS field -> recognised headers (normalised: lower-case, alphanumerics only), in
#: priority order. Sources: FORMATS §16.1 (Workday, BambooHR, Rippling, OrgChart Now, Unaric).
CANONICAL_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "employee_id": ("employeeid", "employeenumber", "employeeno", "employee", "empid", "eeid",
                    "workerid", "personid", "id", "workernumber", "number"),
    "effective_date": ("effectivedate", "effectivefrom", "effective", "asofdate", "snapshotdate",
                       "validfrom"),
    "full_name": ("fullname", "name", "employeename", "displayname", "legalname", "workername",
                  "descriptor"),
    "first_name": ("firstname", "givenname", "legalfirstname"),
    "last_name": ("lastname", "surname", "familyname", "legallastname"),
    "preferred_name": ("preferredname", "nickname", "preferredfullname"),
    "work_email": ("workemail", "primaryworkemail", "workemailaddress", "businessemail", "email",
                   "emailaddress", "mail"),
    "other_emails": ("otheremails", "aliasemails", "personalemail", "secondaryemail",
                     "additionalemails"),
    "manager_employee_id": ("manageremployeeid", "managerid", "supervisoreid", "supervisorid",
                            "reportstoid", "reportsto", "bossid", "supervisoremployeeid",
                            "managerworkerid", "linemanagerid", "managernumber"),
    "manager_email": ("manageremail", "supervisoremail", "reportstoemail"),
    "org": ("org", "organization", "organisation", "businessunit", "orgname"),
    "division": ("division", "divisionname"),
    "department": ("department", "dept", "departmentname", "primarysupervisoryorganization",
                   "supervisoryorganization"),
    "team": ("team", "teamname", "subdepartment", "squad"),
    "team_id": ("teamid",),
    "title": ("title", "jobtitle", "position", "businesstitle", "jobprofile"),
    "level": ("level", "joblevel", "grade", "managementlevel", "careerlevel"),
    "job_family": ("jobfamily",),
    "location": ("location", "worklocation", "office", "site"),
    "country": ("country",),
    "timezone": ("timezone", "tz", "iana"),
    "employment_type": ("employmenttype", "workertype", "employeetype"),
    "hire_date": ("hiredate", "startdate", "originalhiredate"),
    "termination_date": ("terminationdate", "enddate", "termdate"),
    "status": ("status", "employmentstatus", "employmenthistorystatus", "workerstatus"),
    "github_login": ("githublogin", "github", "githubusername", "githubhandle"),
    "gitlab_username": ("gitlabusername", "gitlab", "gitlablogin"),
    "slack_user_id": ("slackuserid", "slackid", "slack"),
    "gerrit_account_id": ("gerritaccountid", "gerrit", "gerritusername"),
    "mattermost_username": ("mattermostusername", "mattermost"),
    "source_system": ("sourcesystem",),
}

#: Org-chart unit levels, top first; each present column becomes one level of the unit tree.
LEVEL_FIELDS: Final = ("org", "division", "department", "team")

#: Identity columns -> (identity source, what the value is).
IDENTITY_COLUMNS: Final[dict[str, str]] = {
    "github_login": "github",
    "gitlab_username": "gitlab",
    "slack_user_id": "slack",
    "gerrit_account_id": "gerrit",
    "mattermost_username": "mattermost",
}

#: Membership-list fields -> recognised headers.
MEMBERSHIP_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "person": ("person", "personid", "member", "github", "login", "username", "user", "handle",
               "email", "employeeid"),
    "unit": ("unit", "unitid", "team", "group", "section", "teamname", "unitname"),
    "role": ("role", "membershiprole"),
    "valid_from": ("validfrom", "from", "since", "start", "startdate", "effectivedate"),
    "valid_to": ("validto", "to", "until", "end", "enddate"),
    "snapshot_date": ("snapshotdate", "snapshot", "asof", "asofdate"),
}

_ISO_DATE: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")
_SLASH_YMD: Final = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_AMBIGUOUS: Final = re.compile(r"^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")
_TERMINATED: Final = frozenset({"terminated", "inactive", "former", "leaver", "left", "withdrawn"})
_EMPLOYMENT_TYPES: Final = frozenset({"employee", "contractor", "intern", "other"})


def parse_date(value: str, *, date_format: str | None = None) -> dt.date:
    """Parse an org-chart date; only unambiguous forms are accepted.

    Parameters
    ----------
    value
        ``YYYY-MM-DD`` (an ISO date-time is cut to its date) or ``YYYY/MM/DD``; with
        ``date_format``, also that :func:`~datetime.datetime.strptime` format (e.g. ``%d.%m.%Y``
        for Unaric).

    Raises
    ------
    ValueError
        With a reason fit for the rejects table, e.g. ``ambiguous date '03/04/2024'``.
    """
    text = value.strip()
    m = _ISO_DATE.match(text) or _SLASH_YMD.match(text)
    if date_format and not m:
        try:
            return dt.datetime.strptime(text, date_format).date()
        except ValueError:
            raise ValueError(f"date {text!r} does not match --date-format {date_format!r}") from None
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise ValueError(f"invalid date {text!r}") from None
    if _AMBIGUOUS.match(text):
        raise ValueError(
            f"ambiguous date {text!r}: use YYYY-MM-DD, or give --date-format (e.g. %d.%m.%Y)"
        )
    raise ValueError(f"unrecognised date {text!r}: use YYYY-MM-DD")


def map_columns(
    headers: list[str],
    explicit: dict[str, str] | None = None,
    fields: dict[str, tuple[str, ...]] = CANONICAL_FIELDS,
    *,
    path: str = "",
) -> dict[str, str]:
    """Map canonical fields to the file's headers.

    Explicit ``FIELD=HEADER`` mappings win; the rest are matched by normalised header name, each
    header used at most once, in the priority order of ``fields``.

    Raises
    ------
    ConfigError
        When an explicit mapping names an unknown field or a header the file does not have.
    """
    explicit = explicit or {}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for fld, header in explicit.items():
        if fld not in fields:
            raise ConfigError(
                f"--column {fld}={header}: unknown field {fld!r}; fields are {', '.join(fields)}"
            )
        if header not in headers:
            raise ConfigError(
                f"--column {fld}={header}: {path or 'the file'} has no column {header!r} "
                f"(columns: {', '.join(headers)})"
            )
        mapping[fld] = header
        used.add(header)
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(_n(h), h)
    # Exact canonical names first, so "team" never steals a header meant for another field.
    for fld in fields:
        if fld in mapping:
            continue
        exact = by_norm.get(_n(fld))
        if exact is not None and exact not in used:
            mapping[fld] = exact
            used.add(exact)
    for fld, aliases in fields.items():
        if fld in mapping:
            continue
        for alias in aliases:
            found = by_norm.get(alias)
            if found is not None and found not in used:
                mapping[fld] = found
                used.add(found)
                break
    return mapping


def detect(path: Path) -> bool:
    """True when ``path`` looks like an org chart or membership list (by its header)."""
    try:
        table = read_table(path)
    except InputError:
        return False
    headers = table.headers
    hris = map_columns(headers)
    if "employee_id" in hris and ({"manager_employee_id", "department", "team"} & set(hris)):
        return True
    mem = map_columns(headers, fields=MEMBERSHIP_FIELDS)
    return {"person", "unit"} <= set(mem) and ("role" in mem or "snapshot_date" in mem)


# -- HRIS ---------------------------------------------------------------------------------------


@dataclass
class _Row:
    rec: int
    line: int
    employee_id: str
    effective: dt.date
    values: dict[str, str | None]
    manager: str | None
    emails: list[str] = field(default_factory=list)
    terminated: bool = False
    termination: dt.date | None = None


def _get(row: TableRow, mapping: dict[str, str], fld: str) -> str | None:
    header = mapping.get(fld)
    return clean(row.cells.get(header)) if header else None


def _flag_formula_cells(b: ImportBuilder, row: TableRow) -> None:
    for header, value in row.cells.items():
        if value and is_formula_like(value):
            b.reject(
                "formula-like cell kept as text (would be evaluated by a spreadsheet)",
                field=header, raw=value, outcome="flagged",
            )


def _unit_path(values: dict[str, str | None]) -> list[tuple[str, str]]:
    """The unit levels present on a row, top first: [(level, name), ...]."""
    return [(lvl, v) for lvl in LEVEL_FIELDS if (v := values.get(lvl))]


def _unit_id(path: list[tuple[str, str]], team_id: str | None) -> str:
    if team_id and path and path[-1][0] == "team":
        return f"team:{team_id}"
    return "/".join(slugify(name) for _lvl, name in path)


def _import_hris(
    table: Table,
    b: ImportBuilder,
    mapping: dict[str, str],
    *,
    as_of: dt.date | None,
    date_format: str | None,
) -> dict[str, object]:
    snapshot = "effective_date" not in mapping
    snap_date = as_of or dt.datetime.now(dt.UTC).date()
    if snapshot:
        b.notes.append(
            f"no effective_date column: rows taken as a snapshot on {snap_date.isoformat()}"
        )
    if "manager_employee_id" not in mapping and "manager_email" not in mapping:
        b.notes.append("no manager column: the manager chain is unknown")
    rows: list[_Row] = []
    units: dict[str, dict[str, object]] = {}
    for trow in table.rows:
        rec = b.begin(line=trow.line, record=None)
        _flag_formula_cells(b, trow)
        emp = _get(trow, mapping, "employee_id")
        if emp is None:
            b.reject("missing employee_id", field=mapping.get("employee_id", "employee_id"))
            continue
        b.describe(f"employee {emp}")
        name = _get(trow, mapping, "full_name")
        if name is None:
            first, last = _get(trow, mapping, "first_name"), _get(trow, mapping, "last_name")
            name = " ".join(x for x in (first, last) if x) or None
        email = normalize_email(_get(trow, mapping, "work_email"))
        raw_email = _get(trow, mapping, "work_email")
        if raw_email and email is None:
            b.reject(f"work_email {raw_email!r} is not an e-mail address; ignored",
                     field=mapping.get("work_email"), outcome="repaired")
        if name is None and email is None:
            b.skip("vacant position (no name, no e-mail)")
            continue
        if snapshot:
            effective = snap_date
        else:
            raw_eff = _get(trow, mapping, "effective_date")
            if raw_eff is None:
                b.reject("missing effective_date", field=mapping["effective_date"])
                continue
            try:
                effective = parse_date(raw_eff, date_format=date_format)
            except ValueError as exc:
                b.reject(str(exc), field=mapping["effective_date"], raw=raw_eff)
                continue
        values: dict[str, str | None] = {
            fld: _get(trow, mapping, fld)
            for fld in ("title", "level", "location", "timezone", "employment_type", "team_id",
                        "preferred_name", *LEVEL_FIELDS)
        }
        values["full_name"] = name
        values["work_email"] = email
        etype = values.get("employment_type")
        if etype and etype.lower() not in _EMPLOYMENT_TYPES:
            values["employment_type"] = etype.lower()
        dates: dict[str, dt.date | None] = {}
        for fld in ("hire_date", "termination_date"):
            raw = _get(trow, mapping, fld)
            dates[fld] = None
            if raw:
                try:
                    dates[fld] = parse_date(raw, date_format=date_format)
                except ValueError as exc:
                    b.reject(f"{exc}; {fld} ignored", field=mapping.get(fld), raw=raw,
                             outcome="repaired")
        status = (_get(trow, mapping, "status") or "").lower()
        manager = _get(trow, mapping, "manager_employee_id")
        manager_email = normalize_email(_get(trow, mapping, "manager_email"))
        others = [
            e for part in re.split(r"[;,\s]+", _get(trow, mapping, "other_emails") or "")
            if (e := normalize_email(part))
        ]
        row = _Row(
            rec=rec, line=trow.line, employee_id=emp, effective=effective, values=values,
            manager=manager, emails=[e for e in [email, *others] if e],
            terminated=status in _TERMINATED, termination=dates["termination_date"],
        )
        if manager is None and manager_email:
            row.values["_manager_email"] = manager_email
        rows.append(row)
        path = _unit_path(values)
        parent: str | None = None
        for depth in range(len(path)):
            sub = path[: depth + 1]
            uid = _unit_id(sub, values.get("team_id") if depth == len(path) - 1 else None)
            lvl, uname = sub[-1]
            units[uid] = {"unit_id": uid, "name": uname, "parent_id": parent, "kind": lvl,
                          "source": "hris"}
            parent = uid
        # Identity claims: the HRIS person and each explicit handle.
        display = values.get("preferred_name") or name or emp
        person_row = claim_rows(emp, origin="hris", source="hris", handle=emp, evidence="hris")
        person_row.update({"identity_id": "h" + stable_hash("hris", emp), "source": "hris",
                           "native_id": emp, "email": email, "name": display})
        b.add("identities", **person_row)
        for addr in row.emails:
            b.add("identities", **claim_rows(emp, origin="hris", source="email", handle=addr,
                                             name=name))
        for fld, src in IDENTITY_COLUMNS.items():
            handle = _get(trow, mapping, fld)
            if handle:
                b.add("identities", **claim_rows(emp, origin="hris", source=src, handle=handle,
                                                 name=name))
    # Manager e-mails -> ids.
    by_email = {e: r.employee_id for r in rows for e in r.emails}
    for r in rows:
        me = r.values.pop("_manager_email", None)
        if me and r.manager is None:
            r.manager = by_email.get(me)
    spans = _build_spans(rows, b)
    _validate_managers(spans, b)
    _dedupe_work_emails(spans, rows, b)
    for uid, unit in units.items():
        b.begin(record=f"unit {uid}", derived=True)
        b.add("units", **unit)
    members = sum(1 for s in spans if s.unit_id)
    for s in spans:
        if not s.unit_id:
            continue
        b.attach(s.rec)
        b.add(
            "memberships",
            person_id=s.employee_id, unit_id=s.unit_id, role="member", manager_id=s.manager,
            title=s.values.get("title"), level=s.values.get("level"),
            location=s.values.get("location"), timezone=s.values.get("timezone"),
            employment_type=s.values.get("employment_type"), valid_from=s.valid_from,
            valid_to=s.valid_to, precision="snapshot" if snapshot else "day", source="hris",
        )
    roots = _roots(spans)
    if roots:
        b.notes.append(f"{len(roots)} root(s) in the org chart (people without a manager): "
                       + ", ".join(sorted(roots)[:10]))
    b.notes.append(f"{len({r.employee_id for r in rows})} people, {len(units)} units, "
                   f"{members} membership spans")
    return {
        "snapshot": snapshot,
        "as_of": snap_date,
        "employees": sorted({r.employee_id for r in rows}),
    }


@dataclass
class _Span:
    rec: int
    line: int
    employee_id: str
    valid_from: dt.date
    valid_to: dt.date | None
    manager: str | None
    values: dict[str, str | None]
    unit_id: str | None


def _build_spans(rows: list[_Row], b: ImportBuilder) -> list[_Span]:
    """SCD type 2: rows per employee, sorted by effective date (file order breaks ties)."""
    by_emp: dict[str, list[_Row]] = defaultdict(list)
    for r in rows:
        by_emp[r.employee_id].append(r)
    spans: list[_Span] = []
    for emp in sorted(by_emp):
        history = sorted(by_emp[emp], key=lambda r: (r.effective, r.rec))
        kept: list[_Row] = []
        for r in history:
            if kept and kept[-1].effective == r.effective:
                prev = kept.pop()
                b.attach(prev.rec)
                b.duplicate("superseded by a later row for the same employee and date")
                b.reject(
                    f"two rows for employee {emp} effective {r.effective.isoformat()}: "
                    f"the later row (line {r.line}) wins",
                    field="effective_date", outcome="flagged", line=prev.line,
                    record=f"employee {emp}",
                )
            kept.append(r)
        for i, r in enumerate(kept):
            if r.terminated:
                continue
            nxt = kept[i + 1].effective if i + 1 < len(kept) else None
            end = nxt
            if r.termination is not None:
                term_end = r.termination + dt.timedelta(days=1)
                end = term_end if end is None or term_end < end else end
            if end is not None and end <= r.effective:
                continue
            path = _unit_path(r.values)
            uid = _unit_id(path, r.values.get("team_id")) if path else None
            if uid is None and r.manager not in (None, emp):
                # Executives at the top of the chart (no manager) sit above every unit; anyone
                # else without a unit is worth a look.
                b.attach(r.rec)
                b.reject("no team, department or org: the person is in no unit",
                         field="team", outcome="flagged", line=r.line,
                         record=f"employee {emp}")
            manager = r.manager
            if manager == emp:
                manager = None  # "reports to itself" = a root (TheOrgChart convention)
            spans.append(_Span(r.rec, r.line, emp, r.effective, end, manager, r.values, uid))
    return spans


def _active(spans: list[_Span], day: dt.date) -> dict[str, _Span]:
    return {
        s.employee_id: s for s in spans
        if s.valid_from <= day and (s.valid_to is None or day < s.valid_to)
    }


def _validate_managers(spans: list[_Span], b: ImportBuilder) -> None:
    """Unknown managers are cleared; managers not employed on the date are flagged; cycles are
    broken at the most recent edge."""
    known = {s.employee_id for s in spans}
    by_emp: dict[str, list[_Span]] = defaultdict(list)
    for s in spans:
        by_emp[s.employee_id].append(s)
    for s in spans:
        if s.manager is None:
            continue
        b.attach(s.rec)
        if s.manager not in known:
            b.reject(f"unknown manager {s.manager!r}: no such employee_id; manager cleared",
                     field="manager_employee_id", outcome="repaired", line=s.line,
                     record=f"employee {s.employee_id}")
            s.manager = None
            continue
        if not any(
            m.valid_from <= s.valid_from and (m.valid_to is None or s.valid_from < m.valid_to)
            for m in by_emp[s.manager]
        ):
            b.reject(
                f"manager {s.manager!r} is not employed on {s.valid_from.isoformat()}",
                field="manager_employee_id", outcome="flagged", line=s.line,
                record=f"employee {s.employee_id}",
            )
    # Cycles can only appear on a date where some manager edge starts.
    for day in sorted({s.valid_from for s in spans if s.manager}):
        active = _active(spans, day)
        starting = [s for s in active.values() if s.valid_from == day and s.manager]
        for start in starting:
            chain = [start.employee_id]
            seen = {start.employee_id}
            cur: _Span | None = start
            cycle: list[_Span] = []
            while cur is not None and cur.manager:
                if cur.manager in seen:
                    cycle = [active[e] for e in chain[chain.index(cur.manager):]]
                    break
                chain.append(cur.manager)
                seen.add(cur.manager)
                cur = active.get(cur.manager)
            if not cycle:
                continue
            breaker = max(cycle, key=lambda s: (s.valid_from, s.line, s.employee_id))
            b.attach(breaker.rec)
            path = " -> ".join([*(c.employee_id for c in cycle), cycle[0].employee_id])
            b.reject(
                f"manager cycle {path} on {day.isoformat()}: cleared the manager of "
                f"{breaker.employee_id} (its most recent edge)",
                field="manager_employee_id", outcome="repaired", line=breaker.line,
                record=f"employee {breaker.employee_id}",
            )
            breaker.manager = None


def _dedupe_work_emails(spans: list[_Span], rows: list[_Row], b: ImportBuilder) -> None:
    """The same work e-mail on two people active on one date is a data error: the second person
    (by file line) keeps the row but the address is not used as identity evidence."""
    owners: dict[str, list[_Span]] = defaultdict(list)
    for s in spans:
        email = s.values.get("work_email")
        if email:
            owners[email].append(s)
    for email, holders in owners.items():
        emps = {h.employee_id for h in holders}
        if len(emps) < 2:
            continue
        holders.sort(key=lambda s: s.line)
        first = holders[0]
        for other in holders[1:]:
            if other.employee_id == first.employee_id:
                continue
            overlap = first.valid_from < (other.valid_to or dt.date.max) and other.valid_from < (
                first.valid_to or dt.date.max
            )
            if not overlap:
                continue
            b.attach(other.rec)
            b.reject(
                f"work_email {email!r} also belongs to {first.employee_id} on "
                f"{max(first.valid_from, other.valid_from).isoformat()}; not used as evidence "
                f"for {other.employee_id}",
                field="work_email", outcome="repaired", line=other.line,
                record=f"employee {other.employee_id}",
            )
            _drop_claim(b, other.employee_id, email)


def _drop_claim(b: ImportBuilder, employee_id: str, email: str) -> None:
    b.remove_rows(
        "identities",
        lambda r: r.get("person_id") == employee_id and r.get("source") == "email"
        and r.get("email") == email,
    )


def _roots(spans: list[_Span]) -> set[str]:
    if not spans:
        return set()
    last = max(s.valid_from for s in spans)
    return {e for e, s in _active(spans, last).items() if s.manager is None}


def _hris_merge(
    employees: list[str], *, snapshot: bool, as_of: dt.date
) -> Callable[[pl.DataFrame, pl.DataFrame], pl.DataFrame]:
    """How an org-chart import combines with stored org-chart memberships.

    An effective-dated file is the full history of the people it lists: their stored rows are
    replaced. A snapshot adds a dated state: stored open rows of listed people that differ are
    closed on the snapshot date, identical ones continue; people absent from the snapshot leave
    on that date.
    """
    return functools.partial(_merge_hris, frozenset(employees), snapshot, as_of)


def _merge_hris(
    listed: frozenset[str], snapshot: bool, as_of: dt.date, old: pl.DataFrame,
    new: pl.DataFrame
) -> pl.DataFrame:
    """The merge :func:`_hris_merge` describes (module level, so results pickle)."""
    other = old.filter(pl.col("source") != "hris")
    hris = old.filter(pl.col("source") == "hris")
    if not snapshot:
        kept = hris.filter(~pl.col("person_id").is_in(sorted(listed)))
        return pl.concat([other, kept, new]).sort(["person_id", "valid_from", "unit_id"],
                                                  nulls_last=False)
    cols = ["unit_id", "role", "manager_id", "title", "level", "location", "timezone",
            "employment_type"]
    open_rows = hris.filter(pl.col("valid_to").is_null() | (pl.col("valid_to") > as_of))
    closed = hris.filter(~(pl.col("valid_to").is_null() | (pl.col("valid_to") > as_of)))
    same = open_rows.join(new.select(["person_id", *cols]), on=["person_id", *cols],
                          how="semi", nulls_equal=True)
    ended = open_rows.join(same.select(["person_id", "unit_id", "valid_from"]),
                           on=["person_id", "unit_id", "valid_from"], how="anti",
                           nulls_equal=True).with_columns(pl.lit(as_of).alias("valid_to"))
    ended = ended.filter(pl.col("valid_from").is_null() | (pl.col("valid_from") < as_of))
    fresh = new.join(same.select(["person_id", *cols]), on=["person_id", *cols],
                     how="anti", nulls_equal=True)
    return pl.concat([other, closed, same, ended, fresh]).sort(
        ["person_id", "valid_from", "unit_id"], nulls_last=False
    )


# -- membership lists ----------------------------------------------------------------------------


def _person_source(header: str) -> str:
    h = _n(header)
    if h in ("github", "githublogin"):
        return "github"
    if h in ("email", "mail"):
        return "email"
    if h in ("personid", "employeeid"):
        return "hris"
    if h in ("gitlab",):
        return "gitlab"
    return "handle"


def _read_people_file(path: Path, b: ImportBuilder, person_source: str) -> dict[str, str]:
    """People file (``github, github_id, name, email``) -> handle (lower) -> identity id."""
    table = read_table(path)
    cols = map_columns(
        table.headers,
        fields={
            "handle": ("github", "login", "username", "handle", "person", "user"),
            "native_id": ("githubid", "userid", "id", "accountid"),
            "name": ("name", "fullname", "displayname"),
            "email": ("email", "emailaddress", "mail"),
        },
        path=str(path),
    )
    if "handle" not in cols:
        raise InputError("people file needs a login/handle column (e.g. 'github')", file=str(path))
    out: dict[str, str] = {}
    b.notes.append(f"people file {path}: {len(table.rows)} rows")
    for line, reason, raw in table.bad_rows:
        b.reject_unreadable(reason, line=line, raw=raw, record=f"people file {path.name}")
    for trow in table.rows:
        handle = _get(trow, cols, "handle")
        b.begin(line=trow.line, record=f"people file {path.name}", derived=True)
        if not handle:
            b.reject("people file row without a handle: ignored", field=cols["handle"],
                     line=trow.line, outcome="flagged")
            continue
        native = _get(trow, cols, "native_id") or handle
        src = person_source if person_source in ("github", "gitlab") else "handle"
        iid = b.identity(Identity(src, native, username=handle, name=_get(trow, cols, "name"),
                                  email=normalize_email(_get(trow, cols, "email"))))
        out[handle.lower()] = iid
    return out


def _read_units_file(path: Path, b: ImportBuilder, kind_default: str) -> dict[str, dict[str, object]]:
    table = read_table(path)
    cols = map_columns(
        table.headers,
        fields={
            "unit": ("unit", "team", "name", "unitid", "group"),
            "parent": ("parent", "parentid", "subteamof", "parentunit", "parentteam"),
            "kind": ("kind", "type", "unitkind"),
        },
        path=str(path),
    )
    if "unit" not in cols:
        raise InputError("units file needs a unit/team column", file=str(path))
    units: dict[str, dict[str, object]] = {}
    for line, reason, raw in table.bad_rows:
        b.begin(line=line, record=f"units file {path.name}", derived=True)
        b.reject(f"units file: {reason}; ignored", raw=raw, outcome="flagged",
                 source_file=str(path))
    for trow in table.rows:
        name = _get(trow, cols, "unit")
        if not name:
            b.begin(line=trow.line, record=f"units file {path.name}", derived=True)
            b.reject("units file row without a unit name: ignored", field=cols["unit"],
                     outcome="flagged", source_file=str(path))
            continue
        kind = (_get(trow, cols, "kind") or kind_default).lower().replace("-", "_")
        parent = _get(trow, cols, "parent")
        units[name] = {"name": name, "parent": parent, "kind": kind}
    return units


def _import_membership(
    table: Table,
    b: ImportBuilder,
    mapping: dict[str, str],
    *,
    as_of: dt.date | None,
    date_format: str | None,
    people: Path | None,
    units_file: Path | None,
    unit_kind: str,
    source_name: str,
) -> None:
    person_source = _person_source(mapping["person"])
    handles = _read_people_file(people, b, person_source) if people else {}
    unit_info = _read_units_file(units_file, b, unit_kind) if units_file else {}

    def unit_id(name: str) -> str:
        return f"{slugify(source_name)}:{slugify(name)}"

    def member(handle: str) -> str:
        key = handle.lower()
        if key in handles:
            return handles[key]
        if person_source == "email":
            email = normalize_email(handle) or key
            iid = b.identity(Identity("email", email, email=email))
        elif person_source == "hris":
            return "hris:" + handle
        else:
            src = person_source if person_source != "handle" else "handle"
            iid = b.identity(Identity(src, handle, username=handle))
        handles[key] = iid
        return iid

    snapshots = "snapshot_date" in mapping
    seen_units: set[str] = set()
    entries: list[tuple[int, int, str, str, str, dt.date | None, dt.date | None]] = []
    for trow in table.rows:
        rec = b.begin(line=trow.line)
        _flag_formula_cells(b, trow)
        handle = _get(trow, mapping, "person")
        unit = _get(trow, mapping, "unit")
        if not handle:
            b.reject("missing person", field=mapping["person"])
            continue
        if not unit:
            b.reject("missing unit", field=mapping["unit"])
            continue
        role = (_get(trow, mapping, "role") or "member").lower()
        dates: dict[str, dt.date | None] = {}
        bad = False
        for fld in ("valid_from", "valid_to", "snapshot_date"):
            raw = _get(trow, mapping, fld)
            dates[fld] = None
            if raw:
                try:
                    dates[fld] = parse_date(raw, date_format=date_format)
                except ValueError as exc:
                    b.reject(str(exc), field=mapping[fld], raw=raw)
                    bad = True
        if bad:
            continue
        if snapshots and dates["snapshot_date"] is None:
            b.reject("missing snapshot_date", field=mapping["snapshot_date"])
            continue
        start = dates["snapshot_date"] if snapshots else dates["valid_from"] or as_of
        entries.append((rec, trow.line, handle, unit, role, start, dates["valid_to"]))
        seen_units.add(unit)
    # Units (with the optional tree from the units file).
    for name in sorted(seen_units | set(unit_info)):
        info = unit_info.get(name, {})
        parent = info.get("parent")
        b.begin(record=f"unit {name}", derived=True)
        b.add("units", unit_id=unit_id(name), name=name,
              parent_id=unit_id(str(parent)) if parent else None,
              kind=str(info.get("kind") or unit_kind), source=source_name)
    precision = "snapshot" if (snapshots or as_of) else "unknown"
    if snapshots:
        _snapshot_spans(entries, b, member, unit_id, source_name)
        return
    seen: set[tuple[str, str, str, dt.date | None]] = set()
    for rec, _line, handle, unit, role, start, end in entries:
        b.attach(rec)
        key = (handle.lower(), unit, role, start)
        if key in seen:
            b.duplicate("same person, unit, role and start twice")
            continue
        seen.add(key)
        iid = member(handle)
        pid = iid[5:] if iid.startswith("hris:") else iid
        b.add("memberships", person_id=pid,
              member_identity_id=None if iid.startswith("hris:") else iid,
              unit_id=unit_id(unit), role=role, valid_from=start, valid_to=end,
              precision=precision, source=source_name)


def _snapshot_spans(
    entries: list[tuple[int, int, str, str, str, dt.date | None, dt.date | None]],
    b: ImportBuilder,
    member: Callable[[str], str],
    unit_id: Callable[[str], str],
    source_name: str,
) -> None:
    """Monthly (or any) snapshots -> spans: present from its first snapshot to the first
    snapshot where it is absent (FORMATS §16.3)."""
    dates = sorted({e[5] for e in entries if e[5] is not None})
    index = {d: i for i, d in enumerate(dates)}
    present: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
    for rec, _line, handle, unit, role, start, _end in entries:
        if start is None:
            continue
        present[(handle, unit, role)].append((index[start], rec))
    for (handle, unit, role), hits in sorted(present.items()):
        hits.sort()
        run_start = prev = None
        first_rec = hits[0][1]
        seen_idx: set[int] = set()
        for idx, rec in hits:
            if idx in seen_idx:
                b.attach(rec)
                b.duplicate("same person, unit and role twice in one snapshot")
                continue
            seen_idx.add(idx)
            if run_start is None:
                run_start, prev, first_rec = idx, idx, rec
                continue
            assert prev is not None
            if idx == prev + 1:
                prev = idx
                continue
            _emit_span(b, first_rec, member(handle), unit_id(unit), role, dates[run_start],
                       dates[prev + 1], source_name)
            run_start, prev, first_rec = idx, idx, rec
        if run_start is not None and prev is not None:
            end = dates[prev + 1] if prev + 1 < len(dates) else None
            _emit_span(b, first_rec, member(handle), unit_id(unit), role, dates[run_start], end,
                       source_name)


def _emit_span(b: ImportBuilder, rec: int, iid: str, uid: str, role: str, start: dt.date,
               end: dt.date | None, source_name: str) -> None:
    b.attach(rec)
    pid = iid[5:] if iid.startswith("hris:") else iid
    b.add("memberships", person_id=pid, member_identity_id=None if iid.startswith("hris:") else iid,
          unit_id=uid, role=role, valid_from=start, valid_to=end, precision="snapshot",
          source=source_name)


# -- entry point -------------------------------------------------------------------------------


@gc_paused()
def import_orgchart(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    shape: Shape = "auto",
    as_of: dt.date | None = None,
    date_format: str | None = None,
    people: str | Path | None = None,
    units: str | Path | None = None,
    unit_kind: str = "team",
    source_name: str | None = None,
) -> ImportResult:
    """Import an org chart (HRIS export) or a membership list.

    Parameters
    ----------
    path
        CSV, TSV, Parquet, JSON or JSON-lines file (optionally gzipped).
    columns
        Explicit ``FIELD -> HEADER`` mapping (``--column employee_id="Employee #"``); fields are the
        canonical columns of FORMATS §16.2 (see :data:`CANONICAL_FIELDS`) or, for a membership list,
        :data:`MEMBERSHIP_FIELDS`.
    shape
        ``"hris"``, ``"membership"``, or ``"auto"`` (an employee id column means HRIS).
    as_of
        Date of a snapshot file without effective dates (default: today for HRIS; unknown start
        for membership lists).
    date_format
        ``strptime`` format for files with non-ISO dates (e.g. ``%d.%m.%Y``).
    people
        Membership lists: a people file linking handles to names and e-mails.
    units
        Membership lists: a units file (``team, kind, subteam_of``) giving the unit tree.
    unit_kind
        Membership lists: the kind of the units (default ``team``).
    source_name
        Membership lists: the name of this formal structure (default: derived from the file name);
        unit ids are ``<source_name>:<unit slug>``.

    Returns
    -------
    ImportResult
        ``units``, ``memberships``, ``identities`` (org-chart claims and observed handles), rejects.

    Raises
    ------
    InputError
        When the file cannot be read or lacks the columns its shape needs.
    """
    p = Path(path)
    table = read_table(p)
    explicit = dict(columns or {})
    b = ImportBuilder("orgchart", p)
    if table.codec not in ("utf-8", "parquet"):
        b.notes.append(f"decoded as {table.codec}")
    for line, reason, raw in table.bad_rows:
        b.reject_unreadable(reason, line=line, raw=raw)
    hris_map = map_columns(
        table.headers, {k: v for k, v in explicit.items() if k in CANONICAL_FIELDS},
        path=str(p),
    ) if shape != "membership" else {}
    chosen = shape
    if shape == "auto":
        chosen = "hris" if "employee_id" in hris_map else "membership"
    unknown = [k for k in explicit if k not in CANONICAL_FIELDS and k not in MEMBERSHIP_FIELDS]
    if unknown:
        raise ConfigError(
            f"--column {unknown[0]}=...: unknown field {unknown[0]!r}; "
            f"fields are {', '.join(CANONICAL_FIELDS)}"
        )
    options: dict[str, object] = {"shape": chosen, "columns": explicit}
    if as_of:
        options["as_of"] = as_of.isoformat()
    if date_format:
        options["date_format"] = date_format
    if chosen == "hris":
        if "employee_id" not in hris_map:
            raise InputError(
                "no employee id column found; name it with --column employee_id=HEADER "
                f"(columns: {', '.join(table.headers)})",
                file=str(p), field="employee_id",
            )
        if "full_name" not in hris_map and not {"first_name", "last_name"} & set(hris_map):
            b.notes.append("no name column: people are named by e-mail or id")
        info = _import_hris(table, b, hris_map, as_of=as_of, date_format=date_format)
        result = b.finish(options=options)
        result.merge["memberships"] = _hris_merge(
            info["employees"], snapshot=bool(info["snapshot"]),  # type: ignore[arg-type]
            as_of=info["as_of"],  # type: ignore[arg-type]
        )
        return result
    mem_map = map_columns(
        table.headers, {k: v for k, v in explicit.items() if k in MEMBERSHIP_FIELDS},
        MEMBERSHIP_FIELDS, path=str(p),
    )
    missing = [f for f in ("person", "unit") if f not in mem_map]
    if missing:
        raise InputError(
            f"not an org chart (no employee id column) nor a membership list (no {missing[0]} "
            f"column); columns: {', '.join(table.headers)}",
            file=str(p), field=missing[0],
        )
    name = source_name or _default_source_name(p)
    options.update({"people": str(people) if people else None,
                    "units": str(units) if units else None, "source_name": name})
    _import_membership(
        table, b, mem_map, as_of=as_of, date_format=date_format,
        people=Path(people) if people else None, units_file=Path(units) if units else None,
        unit_kind=unit_kind, source_name=name,
    )
    return b.finish(options=options)


def _default_source_name(p: Path) -> str:
    stem = p.name.split(".")[0]
    for suffix in ("_team_members", "_members", "_memberships", "_start", "_end", "_monthly"):
        stem = stem.removesuffix(suffix)
    return slugify(stem) or "teams"


def _empty_units() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMAS["units"])
