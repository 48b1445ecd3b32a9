"""The one error tree of knelpunt.

Every error a user can meet is a :class:`KnelpuntError`; the subclasses also
inherit the standard-library type a caller would expect, so ``except
ValueError`` keeps working::

    KnelpuntError
    ├── LogSchemaError (ValueError)         the input does not fit an event log
    │   ├── EmptyLogError                   no rows, no traces, zero bytes
    │   ├── MappingError                    a mapped column is missing or unsuitable
    │   ├── LogValidationError              rows with bad values (strict mode)
    │   └── MalformedFileError              the file is broken (XML, gzip, CSV quoting, bytes)
    ├── UnsafeInputError (ValueError)       XML with a DTD, entities or external references
    │   └── InputLimitError                 an input that unpacks beyond the size or ratio limit
    ├── UnsupportedFormatError (ValueError) a file type knelpunt cannot read or write
    ├── CalendarError (ValueError)          unusable working hours, holidays or time zone
    ├── ProfileError (ValueError)           a profile file that cannot be read or is inconsistent
    ├── FilterError (ValueError)            a filter that cannot be applied as given
    ├── ModelError (ValueError)             a process model that cannot be read, written or used
    ├── ScenarioError (ValueError)          a simulation scenario or override that cannot be used
    ├── AnalysisError (ValueError)          an analysis option or input that cannot be used
    ├── EngineError (RuntimeError)          a query engine (Spark) that is missing or cannot start
    ├── UserError (ValueError)              a user name, role or password that cannot be used
    ├── AccessError (PermissionError)       someone may not do this
    │   ├── LoginError                      wrong name or password, or not logged in
    │   ├── LoginThrottledError             too many failed log-ins lately: wait
    │   └── RoleError                       the user's role does not allow it
    ├── CaptureError                        the capture server refused a request or did not answer
    ├── PrivacyError (ValueError)           a pseudonym key or privacy choice that cannot be used
    │   └── PersonalDataError               personal data found in a column nobody chose for
    └── EventStoreError
        ├── StoreConnectionError            the store cannot be opened or reached
        ├── StoreFullError (OSError)        the disk that holds the store is full
        ├── AppendOnlyError                 an attempt to change or remove recorded events
        ├── ConcurrencyError                another writer holds the store too long
        ├── SourceExistsError               the same content was recorded before
        ├── SourceFinishedError             a source's closing report is already written
        └── UnknownSourceError (LookupError)

Messages say what went wrong, where (file, line or row, column, value) and
what to do about it, because consultants read them in the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AccessError",
    "AnalysisError",
    "AppendOnlyError",
    "CalendarError",
    "CaptureError",
    "ConcurrencyError",
    "EmptyLogError",
    "EngineError",
    "EventStoreError",
    "FilterError",
    "InputLimitError",
    "Issue",
    "KnelpuntError",
    "LogSchemaError",
    "LogValidationError",
    "LoginError",
    "LoginThrottledError",
    "MalformedFileError",
    "MappingError",
    "ModelError",
    "PersonalDataError",
    "PrivacyError",
    "ProfileError",
    "RoleError",
    "ScenarioError",
    "SourceExistsError",
    "SourceFinishedError",
    "StoreConnectionError",
    "StoreFullError",
    "UnknownSourceError",
    "UnsafeInputError",
    "UnsupportedFormatError",
    "UserError",
]


class KnelpuntError(Exception):
    """Root of every error knelpunt raises on purpose."""


class LogSchemaError(KnelpuntError, ValueError):
    """The input cannot be read as an event log."""


class EmptyLogError(LogSchemaError):
    """The input holds no events at all."""


class MappingError(LogSchemaError):
    """A column mapping names a column that is missing or unsuitable."""


class MalformedFileError(LogSchemaError):
    """The file itself is broken: bad XML, a truncated gzip, bad CSV quoting, bad bytes."""


class UnsafeInputError(KnelpuntError, ValueError):
    """The input tries something a log never needs (DTDs, entities, external references)."""


class InputLimitError(UnsafeInputError):
    """A compressed input (gzip, an Excel workbook's zip, Parquet pages) unpacks to more
    bytes, or more bytes per compressed byte, than the limits allow: a decompression
    bomb, or a genuine file larger than the limits (then lift them)."""


class UnsupportedFormatError(KnelpuntError, ValueError):
    """knelpunt cannot read or write this kind of file."""


class CalendarError(KnelpuntError, ValueError):
    """A working calendar cannot be used as given."""


class ProfileError(KnelpuntError, ValueError):
    """A profile (YAML) cannot be read, or contradicts itself (say, one person in two teams)."""


class FilterError(KnelpuntError, ValueError):
    """A filter's options make no sense (a share outside 0-1, an unknown mode)."""


class ModelError(KnelpuntError, ValueError):
    """A process model (BPMN, PNML) cannot be read, written or checked against a log."""


class ScenarioError(KnelpuntError, ValueError):
    """A simulation scenario, or an override of one, that cannot be used."""


class AnalysisError(KnelpuntError, ValueError):
    """An analysis (waiting split, blockers) was given an option or input it cannot use."""


class EngineError(KnelpuntError, RuntimeError):
    """A query engine cannot be used: pyspark or Java is missing, Spark does not start, or a
    named table is not there (see :func:`knelpunt.compute_relational`)."""


class UserError(KnelpuntError, ValueError):
    """A user name, role or password that cannot be used, or a user that does not exist."""


class AccessError(KnelpuntError, PermissionError):
    """Someone may not do what they asked (not logged in, wrong password, too low a role)."""


class LoginError(AccessError):
    """The name or the password is wrong, or the request carries no valid log-in.

    The message never says which of the two was wrong.
    """


class LoginThrottledError(AccessError):
    """Too many failed log-ins for this account or from this address lately.

    Attributes:
        retry_after: seconds until an attempt is accepted again.
    """

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RoleError(AccessError):
    """The user is logged in, but their role does not allow this."""


class CaptureError(KnelpuntError):
    """The capture server refused a request, or did not answer after all retries.

    Attributes:
        status: the HTTP status of the last answer; None when none came.
        errors: the problems the server listed (422: ``index``, ``field``,
            ``value``, ``message`` per problem).
    """

    def __init__(
        self, message: str, *, status: int | None, errors: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = tuple(errors)


class PrivacyError(KnelpuntError, ValueError):
    """A pseudonym key or a privacy choice cannot be used (see :mod:`knelpunt.privacy`)."""


class PersonalDataError(PrivacyError):
    """Recording found personal data in a column with no choice made for it.

    The detection reads the first rows; a column that looked clean there but
    holds, say, BSNs further on stops the recording (nothing is stored) until
    the user chooses to drop, pseudonymise or keep it.
    """


class EventStoreError(KnelpuntError):
    """The event store refused or failed an operation."""


class StoreConnectionError(EventStoreError):
    """The event store cannot be opened or reached."""


class StoreFullError(EventStoreError, OSError):
    """The disk (or quota) that holds the store has no space left; the write that met it
    was rolled back, so the store is as it was before."""


class AppendOnlyError(EventStoreError):
    """Recorded events cannot be changed or removed (only a whole source can be purged)."""


class ConcurrencyError(EventStoreError):
    """Another writer kept the store locked for longer than the time-out."""


class SourceExistsError(EventStoreError):
    """A source with the same content hash is already in the store.

    Attributes:
        source_id: the id of the source recorded earlier.
    """

    def __init__(self, source_id: int, message: str | None = None) -> None:
        self.source_id = source_id
        super().__init__(
            message
            or f"The same content is already recorded as source {source_id}; purge it first "
            "to record it again."
        )


class SourceFinishedError(EventStoreError):
    """The source already has its closing report (a finished run or a closed session)."""


class UnknownSourceError(EventStoreError, LookupError):
    """No source with that id is in the store."""


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in one place of an input file.

    Attributes:
        file: the file's name as the user gave it.
        location: ``"line 12"``, ``"row 12"`` or ``"event 12 (case 'A1')"``.
        column: the column (or XES key) that holds the bad value, if any.
        value: the offending value as text (shortened), if any.
        reason: what is wrong, in one sentence.
        fix: what the user can do about it.
        line: the line, row or event number (1-based) for sorting and storage.
    """

    file: str
    location: str
    column: str | None
    value: str | None
    reason: str
    fix: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}, {self.location}"
        if self.column is not None:
            where += f", column '{self.column}'"
        shown = f" (value: {self.value!r})" if self.value is not None else ""
        return f"{where}: {self.reason}{shown}. {self.fix}"


class LogValidationError(LogSchemaError):
    """Rows with bad values were found; in strict mode nothing was recorded.

    Attributes:
        issues: the problems found, in file order (at most ``shown`` of them are
            in the message; all are in this tuple up to a cap of 10,000).
        total: how many rows were refused in all.
    """

    def __init__(self, file: str, issues: Sequence[Issue], total: int, *, shown: int = 5) -> None:
        self.file = file
        self.issues = tuple(issues)
        self.total = total
        head = "\n".join(f"  - {issue}" for issue in self.issues[:shown])
        more = f"\n  ... and {total - shown} more" if total > shown else ""
        super().__init__(
            f"{file}: {total} row(s) cannot be recorded, so nothing was recorded "
            f"(strict mode).\n{head}{more}\n"
            "Fix the rows in the source file, or record the valid rows and keep the "
            "refused ones with their reasons by using lenient mode "
            "(--lenient on the command line, mode='lenient' in Python)."
        )
