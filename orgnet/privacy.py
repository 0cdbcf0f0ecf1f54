"""Pseudonymisation: keyed pseudonyms for every identity and name, before anything is written.

With pseudonymisation on (``orgnet import ... --pseudonymize`` or ``[privacy] pseudonymize = true``
in ``orgnet.toml``) the command line passes every importer's result through
:func:`pseudonymize_result` before :func:`orgnet.ingest.ingest` sees it, so the workspace, and
therefore every analysis, report and dashboard view built from it, holds only pseudonyms.

Pseudonyms are HMAC-SHA256 under a secret key (from an environment variable or a key file, see
:func:`load_key`): without the key, an unkeyed hash of a known e-mail address cannot be looked up.
The same value gives the same pseudonym under one key in every source, so identity resolution
still merges the same person's git, Slack and org-chart handles:

==============================  ===========================================================
value                           pseudonym
==============================  ===========================================================
identity id                     ``i`` + 16 hex digits
e-mail address                  ``u<12 hex>@<domain>`` (normalised first: lower-case, strip);
                                domain kept unless ``keep_email_domains=False``
                                (``pseudo.invalid``)
GitHub noreply address          ``user-<10 hex>@users.noreply.github.com`` (the login part is
                                pseudonymised like the login, so the link to it is kept)
shared address                  ``noreply@github.com`` and the like are kept (they name no one);
                                ``root@<domain>``-style addresses keep their shared local part;
                                ``ana@laptop`` becomes ``u<12 hex>@localhost`` (still shared)
full name                       ``Person <10 hex>`` from the normalised name (a one-word name
                                gives ``Person-<10 hex>``, so it stays one word for name matching)
login / username                ``user-<10 hex>`` from the lower-cased login
native id (Slack, GitHub ids)   ``id-<10 hex>`` from the lower-cased id (e-mail native ids are
                                pseudonymised as e-mail addresses)
employee id (HRIS)              ``E-<10 hex>``
CODEOWNERS ``@user``            ``@user-<10 hex>``; team handles ``@org/team`` are kept
event ids, ownership rule ids   re-keyed HMACs of the original ids (deterministic per key)
mail thread artifact ids        ``mbox:<list>:m<16 hex>`` (message ids often embed addresses)
direct-message containers       ``dm:<10 hex>`` / ``mpdm-<10 hex>`` (their names list people)
==============================  ===========================================================

Lengths. Names and logins use 10 hex digits (40 bits), not fewer: with 10,000 people the chance
that two of them share a pseudonym (and would be merged by name or login evidence) is below
0.005 %.

Rejects lose ``raw_excerpt``; their ``record`` and ``reason`` have every known original value and
every e-mail address replaced. Bot flags are computed from the original handles before they are
replaced, so automation accounts stay recognised.

The optional re-identification map (pseudonym -> original) is written by
:func:`write_reidentify_map` to a file the user names, never inside the workspace.
:func:`check_workspace_mode` refuses to mix pseudonymised and plain imports, or two keys, in one
workspace.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any, Final

import polars as pl

from orgnet._text import clean, is_formula_like, normalize_email, normalize_handle, normalize_name
from orgnet.config import Config, PrivacyConfig
from orgnet.exceptions import ConfigError, WorkspaceError
from orgnet.identity import SHARED_ADDRESSES, is_bot_handle, is_shared_address
from orgnet.importers._base import ImportResult
from orgnet.workspace import Workspace, atomic_write_bytes

__all__ = [
    "MIN_KEY_BYTES",
    "PRIVACY_FILE",
    "Pseudonymizer",
    "check_workspace_mode",
    "key_fingerprint",
    "load_key",
    "pseudonymize_result",
    "write_reidentify_map",
]

#: Shortest accepted key (bytes).
MIN_KEY_BYTES: Final = 16
#: The file in the workspace that records whether (and under which key) it is pseudonymised.
PRIVACY_FILE: Final = "privacy.json"
PSEUDO_DOMAIN: Final = "pseudo.invalid"
NOREPLY_DOMAIN: Final = "users.noreply.github.com"

_NOREPLY: Final = re.compile(r"^(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.github\.com$")
_SHARED_LOCAL: Final = re.compile(r"^(no-?reply|do-?not-?reply|root|admin|mailer-daemon)$")
_EMAIL_IN_TEXT: Final = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*", re.UNICODE)
_QUOTED: Final = re.compile(r"""'[^']*'|"[^"]*\"""")
#: Canonical columns holding identity ids.
_IDENTITY_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "identities": ("identity_id",),
    "interactions": ("actor_id", "target_id"),
    "touches": ("actor_id",),
    "artifacts": ("author_id",),
    "memberships": ("member_identity_id",),
    "ownership": ("owner_identity_id",),
}
#: Tables with an ``artifact_id`` column (mail thread ids are pseudonymised).
_ARTIFACT_TABLES: Final = ("interactions", "artifacts", "touches")
#: Sources whose every record names a person (their rejects' quoted values are redacted).
_PEOPLE_SOURCES: Final = frozenset({"orgchart", "aliases"})


# -- keys ----------------------------------------------------------------------------------------


def load_key(config: Config | PrivacyConfig, *, workspace: str | Path | None = None) -> bytes:
    """Read the pseudonymisation key from the key file or the environment variable.

    Parameters
    ----------
    config
        The configuration (``[privacy] key_file``, else ``[privacy] key_env``, default
        ``ORGNET_PSEUDONYM_KEY``). A relative ``key_file`` is relative to the ``orgnet.toml`` it
        comes from.
    workspace
        When given, a key file inside the workspace is refused (it would travel with the data).

    Returns
    -------
    bytes
        The key (surrounding whitespace of a key file or variable removed).

    Raises
    ------
    ConfigError
        When there is no key, the key file cannot be read, or the key is shorter than 16 bytes.
    """
    privacy = config.privacy if isinstance(config, Config) else config
    base = config.path.parent if isinstance(config, Config) and config.path else None
    if privacy.key_file:
        path = Path(privacy.key_file).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        if workspace is not None and _inside(path, Path(workspace)):
            raise ConfigError(f"[privacy] key_file {path}: the key must not be kept inside the "
                              "workspace; move it elsewhere")
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"[privacy] key_file {path}: cannot read the key "
                              f"({exc.strerror})") from exc
        where = f"key file {path}"
    else:
        value = os.environ.get(privacy.key_env, "")
        if not value.strip():
            raise ConfigError(
                f"pseudonymisation is on but there is no key: set the environment variable "
                f"{privacy.key_env} (e.g. export {privacy.key_env}=$(openssl rand -hex 32)) or "
                "[privacy] key_file in orgnet.toml"
            )
        key = value.strip().encode("utf-8")
        where = f"${privacy.key_env}"
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"the pseudonymisation key in {where} is {len(key)} bytes; use at least "
                          f"{MIN_KEY_BYTES} (e.g. openssl rand -hex 32)")
    return key


def key_fingerprint(key: bytes) -> str:
    """A short public fingerprint of ``key`` (tells two keys apart without revealing either)."""
    return hmac.new(key, b"orgnet-pseudonym-key-fingerprint", hashlib.sha256).hexdigest()[:16]


# -- the transformation --------------------------------------------------------------------------


class Pseudonymizer:
    """Stable keyed pseudonyms for one key (caches every value it has seen).

    Parameters
    ----------
    key
        The secret key.
    keep_email_domains
        Keep the domain of e-mail addresses (needed by ``orgnet units from-email-domains``).
    reidentify
        Filled with pseudonym -> original value when given.
    """

    def __init__(self, key: bytes, *, keep_email_domains: bool = True,
                 reidentify: dict[str, str] | None = None) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(f"the pseudonymisation key must be at least {MIN_KEY_BYTES} bytes")
        self._key = key
        self.keep_email_domains = keep_email_domains
        self.reidentify = reidentify
        #: original text -> pseudonym, for rewriting reject texts and notes.
        self.seen: dict[str, str] = {}
        self._cache: dict[tuple[str, str], str] = {}
        self._pattern_for = -1
        self._pattern_cache: re.Pattern[str] | None = None

    def digest(self, label: str, value: str, length: int) -> str:
        """Hex HMAC-SHA256 of ``value`` in the domain ``label``, truncated to ``length``."""
        ck = (label, value)
        hit = self._cache.get(ck)
        if hit is None:
            msg = label.encode() + b"\x1f" + value.encode("utf-8", "surrogatepass")
            hit = hmac.new(self._key, msg, hashlib.sha256).hexdigest()
            self._cache[ck] = hit
        return hit[:length]

    def _note(self, original: str | None, pseudonym: str) -> str:
        if original and original != pseudonym:
            self.seen.setdefault(original, pseudonym)
            if self.reidentify is not None:
                self.reidentify.setdefault(pseudonym, original)
        return pseudonym

    # Each method maps None to None.
    def identity_id(self, value: str | None) -> str | None:
        """``i`` + 16 hex digits."""
        return None if value is None else "i" + self.digest("identity", value, 16)

    def email(self, value: str | None) -> str | None:
        """An e-mail pseudonym; a value that is no address stays no address (``x<hex>``)."""
        if value is None:
            return None
        norm = normalize_email(value)
        if norm is None:
            text = clean(value)
            if text is None:
                return None
            return self._note(value, "x" + self.digest("email", text.lower(), 12))
        if norm in SHARED_ADDRESSES:
            return norm
        local, _, domain = norm.partition("@")
        m = _NOREPLY.match(norm)
        if m:
            out = f"{self._login(m.group('login'))}@{NOREPLY_DOMAIN}"
        elif is_shared_address(norm) and "." not in domain:
            out = "u" + self.digest("email", norm, 12) + "@localhost"
        else:
            dom = domain if self.keep_email_domains else PSEUDO_DOMAIN
            if _SHARED_LOCAL.match(local):
                out = f"{local}@{dom}"
            else:
                out = "u" + self.digest("email", norm, 12) + "@" + dom
        self._note(value, out)
        return self._note(norm, out)

    def _login(self, login: str) -> str:
        return "user-" + self.digest("user", login.lower(), 10)

    def username(self, value: str | None) -> str | None:
        """``user-<10 hex>`` from the normalised login."""
        norm = normalize_handle(value)
        if norm is None:
            return None
        out = self._login(norm)
        self._note(value, out)
        return self._note(norm, out)

    def name(self, value: str | None) -> str | None:
        """``Person <10 hex>`` from the normalised name (one-word names stay one word)."""
        norm = normalize_name(value) or (clean(value) or "").lower()
        if not norm:
            return None
        sep = " " if len(norm.split()) >= 2 else "-"
        return self._note(clean(value), f"Person{sep}{self.digest('name', norm, 10)}")

    def native_id(self, value: str | None) -> str | None:
        """An e-mail pseudonym for an address, else ``id-<10 hex>`` of the lower-cased id."""
        if value is None:
            return None
        if normalize_email(value) is not None:
            return self.email(value)
        return self._note(value, "id-" + self.digest("id", value.strip().lower(), 10))

    def employee_id(self, value: str | None) -> str | None:
        """``E-<10 hex>``."""
        if value is None:
            return None
        return self._note(value, "E-" + self.digest("employee", value.strip(), 10))

    def owner_handle(self, value: str | None, *, person: bool) -> str | None:
        """``@user`` -> ``@user-<hex>``; addresses as e-mail; team handles and ``*`` kept."""
        if value is None or value == "*":
            return value
        if value.startswith("@"):
            if "/" in value:
                return value  # @org/team: a team, not a person
            return "@" + (self.username(value[1:]) or "")
        if normalize_email(value) is not None:
            return self.email(value)
        return self.username(value) if person else value

    def container(self, value: str | None) -> str | None:
        """Direct-message containers (their names list the members) become opaque."""
        if value is None:
            return None
        for prefix in ("dm:", "mpdm-"):
            if value.startswith(prefix):
                return self._note(value, prefix + self.digest("container", value, 10))
        return value

    def artifact_id(self, value: str | None) -> str | None:
        """Mail thread ids ``mbox:<list>:<message-id>`` -> ``mbox:<list>:m<16 hex>``."""
        if value is None or not value.startswith("mbox:"):
            return value
        parts = value.split(":", 2)  # a message id may itself contain a colon
        if len(parts) != 3 or not parts[2]:
            return value
        return self._note(value, f"mbox:{parts[1]}:m{self.digest('msgid', parts[2], 16)}")

    def scrub_text(self, text: str | None, *, redact_quoted: bool = False) -> str | None:
        """Replace every known original and every e-mail address in a reject text or note."""
        if text is None:
            return None
        pattern = self._pattern()
        if pattern is not None:
            lookup = {k.lower(): v for k, v in self.seen.items()}
            text = pattern.sub(lambda m: lookup.get(m.group(0).lower(), m.group(0)), text)
        text = _EMAIL_IN_TEXT.sub(lambda m: self._scrub_email(m.group(0)), text)
        if redact_quoted:
            pseudos = set(self.seen.values())
            text = _QUOTED.sub(
                lambda m: m.group(0) if m.group(0)[1:-1] in pseudos or len(m.group(0)) <= 2
                else m.group(0)[0] + "…" + m.group(0)[-1], text)
        return text

    def _scrub_email(self, value: str) -> str:
        if value in self.seen.values() or normalize_email(value) is None:
            return value
        return self.email(value) or value

    def _pattern(self) -> re.Pattern[str] | None:
        if self._pattern_for == len(self.seen):
            return self._pattern_cache
        keys = sorted(
            (k for k in self.seen if len(k) >= 3 and not (k.isdigit() and len(k) < 5)),
            key=len, reverse=True,
        )
        self._pattern_for = len(self.seen)
        self._pattern_cache = (
            re.compile(r"(?<![\w@.+-])(?:" + "|".join(re.escape(k) for k in keys) + r")(?![\w@-])",
                       re.IGNORECASE)
            if keys else None
        )
        return self._pattern_cache


def _map_column(df: pl.DataFrame, column: str, fn: Callable[[str | None], str | None]) -> pl.DataFrame:
    """Apply ``fn`` to every distinct value of a string column."""
    if column not in df.columns or df.height == 0:
        return df
    values = df[column].unique().to_list()
    mapping = {v: fn(v) for v in values if v is not None}
    if not mapping:
        return df
    old = list(mapping)
    new = [mapping[v] for v in old]
    return df.with_columns(
        pl.col(column).replace_strict(old, new, default=None, return_dtype=pl.String)
        .alias(column)
    )


def _map_rows(df: pl.DataFrame, columns: Iterable[str],
              fn: Callable[[dict[str, Any]], dict[str, Any]]) -> pl.DataFrame:
    """Rewrite some columns row by row (for rules that look at several columns)."""
    cols = [c for c in columns if c in df.columns]
    if not cols or df.height == 0:
        return df
    rows = [fn(r) for r in df.select(cols).iter_rows(named=True)]
    return df.with_columns(
        pl.Series(c, [r[c] for r in rows], dtype=df.schema[c]) for c in cols
    )


def pseudonymize_result(
    result: ImportResult,
    key: bytes,
    *,
    keep_email_domains: bool = True,
    reidentify: dict[str, str] | None = None,
) -> ImportResult:
    """Replace every identity and name in an importer's result by its keyed pseudonym.

    Call it between the importer and :func:`orgnet.ingest.ingest`; the result keeps its record
    structure (``_rec``, counts, statuses), so import counting is unchanged.

    Parameters
    ----------
    result
        What the importer produced.
    key
        The secret key (:func:`load_key`), at least 16 bytes.
    keep_email_domains
        Keep e-mail domains (default); ``False`` replaces them with ``pseudo.invalid``.
    reidentify
        When a dict is given, it is filled with pseudonym -> original value, for
        :func:`write_reidentify_map`.

    Returns
    -------
    ImportResult
        A new result; ``result`` is not modified.
    """
    p = Pseudonymizer(key, keep_email_domains=keep_email_domains, reidentify=reidentify)
    tables = {name: _pseudonymize_table(name, frame, p) for name, frame in result.tables.items()}
    redact = result.source_kind in _PEOPLE_SOURCES
    rejects = result.rejects
    if rejects.height:
        rejects = rejects.with_columns(pl.lit(None, dtype=pl.String).alias("raw_excerpt"))
        for col in ("record", "reason"):
            rejects = _map_column(rejects, col, lambda t: p.scrub_text(t, redact_quoted=redact))
    notes = [p.scrub_text(n, redact_quoted=redact) or "" for n in result.notes]
    out = dc_replace(result, tables=tables, rejects=rejects, notes=notes,
                     merge=dict(result.merge), options=dict(result.options))
    out.options["pseudonymized"] = True
    return out


def _pseudonymize_table(name: str, df: pl.DataFrame, p: Pseudonymizer) -> pl.DataFrame:
    if df.height == 0:
        return df
    if name == "identities":
        df = _map_rows(df, ("native_id", "username", "email", "name", "is_bot", "origin",
                            "source", "person_id"), lambda r: _identity_row(r, p))
    for col in _IDENTITY_COLUMNS.get(name, ()):
        df = _map_column(df, col, p.identity_id)
    if name == "memberships":
        df = _map_rows(df, ("person_id", "member_identity_id", "manager_id"),
                       lambda r: _membership_row(r, p))
    if name == "interactions":
        df = _map_column(df, "event_id", lambda v: None if v is None else p.digest("event", v, 20))
        df = _map_column(df, "container", p.container)
        df = _map_column(df, "value", p.artifact_id)
    if name in _ARTIFACT_TABLES:
        df = _map_column(df, "artifact_id", p.artifact_id)
    if name == "ownership":
        df = _map_rows(df, ("owner_handle", "owner_identity_id"), lambda r: {
            "owner_handle": p.owner_handle(r["owner_handle"],
                                           person=r["owner_identity_id"] is not None),
            "owner_identity_id": r["owner_identity_id"],
        })
        df = _map_column(df, "rule_id",
                         lambda v: None if v is None else "own-" + p.digest("rule", v, 20))
    return df


def _identity_row(r: dict[str, Any], p: Pseudonymizer) -> dict[str, Any]:
    out = dict(r)
    if r["origin"] == "observed" and not r["is_bot"]:
        # The bot patterns look at the real handles: decide now, before they are replaced.
        out["is_bot"] = bool(is_bot_handle(r["username"], r["name"], r["email"], r["native_id"]))
    if r["source"] == "hris":
        out["native_id"] = p.employee_id(r["native_id"])
    else:
        out["native_id"] = p.native_id(r["native_id"])
    out["username"] = p.username(r["username"]) if r["username"] is not None else None
    out["email"] = p.email(r["email"])
    out["name"] = p.name(r["name"])
    if r["origin"] != "observed":
        out["person_id"] = p.employee_id(r["person_id"])  # claims carry the person they name
    return out


def _membership_row(r: dict[str, Any], p: Pseudonymizer) -> dict[str, Any]:
    # member_identity_id is already mapped; a handle-keyed row's person_id is a placeholder
    # equal to the original identity id (ingest re-fills it), which maps like an identity id.
    pid = r["person_id"]
    member = r["member_identity_id"]
    if member is not None and pid is not None and p.identity_id(pid) == member:
        new_pid = member
    else:
        new_pid = p.employee_id(pid)
    return {"person_id": new_pid, "member_identity_id": member,
            "manager_id": p.employee_id(r["manager_id"])}


# -- workspace mode and the re-identification map ------------------------------------------------


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def check_workspace_mode(ws: Workspace | str | Path, fingerprint: str | None) -> None:
    """Refuse to mix pseudonymised and plain imports, or two keys, in one workspace.

    The first import records the mode in ``WORKSPACE/privacy.json``; every later import must
    match it. A workspace with imports but no ``privacy.json`` (made before pseudonymisation
    existed) is a plain one.

    Parameters
    ----------
    ws
        The workspace.
    fingerprint
        :func:`key_fingerprint` of the key when this import is pseudonymised, else ``None``.

    Raises
    ------
    WorkspaceError
        On a mismatch, saying what the workspace holds and what to do.
    """
    workspace = ws if isinstance(ws, Workspace) else Workspace(ws)
    path = workspace.path / PRIVACY_FILE
    recorded: dict[str, Any] | None = None
    if path.is_file():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WorkspaceError(f"{path}: cannot read the privacy record ({exc})") from exc
        if not isinstance(recorded, dict) or not isinstance(recorded.get("pseudonymized"), bool):
            raise WorkspaceError(f"{path}: not an orgnet privacy record")
    elif workspace.exists() and workspace.imports():
        recorded = {"pseudonymized": False, "key_fingerprint": None}
    wanted = fingerprint is not None
    if recorded is not None:
        if recorded["pseudonymized"] and not wanted:
            raise WorkspaceError(
                f"{workspace.path} holds pseudonymised data; import with --pseudonymize and the "
                "same key (or use another workspace): plain names would sit beside pseudonyms")
        if not recorded["pseudonymized"] and wanted:
            raise WorkspaceError(
                f"{workspace.path} holds plain (not pseudonymised) data; pseudonymise into a new "
                "workspace instead: pseudonyms would never match the plain names already stored")
        if wanted and recorded.get("key_fingerprint") != fingerprint:
            raise WorkspaceError(
                f"{workspace.path} was pseudonymised with another key (fingerprint "
                f"{recorded.get('key_fingerprint')}, this key {fingerprint}); the same person "
                "would get two pseudonyms. Use the original key or a new workspace")
        if path.is_file():
            return
    body = {"pseudonymized": wanted, "key_fingerprint": fingerprint}
    workspace.path.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(body, indent=1, sort_keys=True) + "\n").encode())


def write_reidentify_map(
    mapping: dict[str, str],
    path: str | Path,
    *,
    workspace: Workspace | str | Path | None = None,
) -> Path:
    """Write (or extend) the re-identification map ``pseudonym,original`` as CSV.

    Rows already in the file are kept, so one map can collect several imports. The file is
    written atomically with permissions 0600; cells a spreadsheet would evaluate are prefixed
    with ``'``.

    Parameters
    ----------
    mapping
        pseudonym -> original (the ``reidentify`` dict of :func:`pseudonymize_result`).
    path
        Where to write; must be outside the workspace.
    workspace
        The workspace (a path inside it is refused). Also refused: a path inside
        ``$ORGNET_WORKSPACE``/``./orgnet-workspace`` when ``workspace`` is not given.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ConfigError
        When ``path`` is inside the workspace or is a directory.
    """
    out = Path(path)
    ws_path = (workspace.path if isinstance(workspace, Workspace)
               else Workspace(workspace).path)
    if _inside(out, ws_path):
        raise ConfigError(f"{out}: the re-identification map must be stored apart from the "
                          f"workspace {ws_path}; name a file outside it")
    if out.is_dir():
        raise ConfigError(f"{out}: is a directory; name a file for the re-identification map")
    rows: dict[str, str] = {}
    if out.is_file():
        with out.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header != ["pseudonym", "original"]:
                raise ConfigError(f"{out}: exists and is not an orgnet re-identification map; "
                                  "name another file")
            for row in reader:
                if len(row) == 2:
                    rows[row[0]] = row[1]
    for pseudo, original in mapping.items():
        rows.setdefault(pseudo, "'" + original if is_formula_like(original) else original)
    lines: list[tuple[str, str]] = [("pseudonym", "original"), *sorted(rows.items())]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(lines)
    atomic_write_bytes(out, buf.getvalue().encode("utf-8"), mode=0o600)
    return out
