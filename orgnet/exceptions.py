"""Exceptions raised by orgnet.

Every error orgnet raises on purpose derives from :class:`OrgnetError`, so callers can
catch one root. The command line prints the message of an ``OrgnetError`` as one line and
exits 1; anything else is a bug and keeps its traceback.

::

    OrgnetError
    ├── SchemaError            a table does not match its canonical schema
    ├── WorkspaceError         the workspace is missing, locked, or unreadable
    │   └── WorkspaceLockedError
    ├── InputError             an input file cannot be read at all (names file, line, field)
    │   └── StrictImportError  --strict and the import found problems
    └── ConfigError            an option or configuration value is wrong
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "InputError",
    "OrgnetError",
    "SchemaError",
    "StrictImportError",
    "WorkspaceError",
    "WorkspaceLockedError",
]


class OrgnetError(Exception):
    """Root of every error orgnet raises on purpose."""


class SchemaError(OrgnetError):
    """A table does not match its canonical schema.

    The message names the table, the column and some offending values.
    """


class WorkspaceError(OrgnetError):
    """The workspace is missing, corrupt or cannot be written."""


class WorkspaceLockedError(WorkspaceError):
    """Another process holds the workspace lock for longer than the timeout."""


class InputError(OrgnetError):
    """An input file cannot be used.

    Parameters
    ----------
    message
        What is wrong and what to do about it.
    file, line, field
        Where the problem is, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        where = []
        if file:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if field:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class StrictImportError(InputError):
    """Raised under ``--strict`` when an import found rejected or repaired records."""


class ConfigError(OrgnetError):
    """An option or configuration value is invalid."""
