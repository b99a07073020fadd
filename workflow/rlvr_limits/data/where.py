"""The manifest's record filter (`where:`): keep the records whose date field lies in a half-open window.

Some benchmarks are a time slice of a larger release, e.g. LiveCodeBench v5 as the study used it: the
release's problems with `contest_date` in [2024-08-01, 2025-02-01). The window is applied to the records
before the loader turns them into problems (so records outside it are never decoded) and before the
`n_problems` check.

    where: {field: contest_date, from: "2024-08-01", until: "2025-02-01"}

`from` is inclusive, `until` exclusive; either may be left out, not both. Bounds are ISO dates or
datetimes without a timezone (a date means its midnight). A record's value must be an ISO date/datetime
string (or a date/datetime, as Parquet gives them); a value with a timezone is compared in UTC. A record
without the field, or with a value that is not a date, is an error rather than silently dropped.

Standard library only: the manifest (read while Snakemake builds the DAG) imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from rlvr_limits.errors import UserError

WHERE_KEYS = ("field", "from", "until")


def _as_datetime(value: Any) -> datetime | None:
    """`value` as a naive UTC datetime, or None when it is not an ISO date/datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


@dataclass(frozen=True)
class DateWindow:
    """Records with `start <= record[field] < end` (ISO texts as written in the manifest; None = open)."""

    field: str
    start: str | None
    end: str | None

    def spec(self) -> dict[str, str | None]:
        """The filter as the manifest writes it, for sidecars and messages."""
        return {"field": self.field, "from": self.start, "until": self.end}

    def describe(self) -> str:
        """`contest_date in [2024-08-01, 2025-02-01)`, for log lines and errors."""
        return f"{self.field} in [{self.start or '-inf'}, {self.end or '+inf'})"

    def keeps(self, where: str, record: dict[str, Any]) -> bool:
        """Whether the record at `where` (`file:line`) lies in the window."""
        if self.field not in record:
            raise UserError(f"{where}: no field `{self.field}`, which the manifest's `where:` filter "
                            f"({self.describe()}) needs")
        moment = _as_datetime(record[self.field])
        if moment is None:
            raise UserError(f"{where}: field `{self.field}` is {record[self.field]!r}, not an ISO date or "
                            f"datetime, so the manifest's `where:` filter ({self.describe()}) cannot place it")
        if self.start is not None and moment < _bound(self.start):
            return False
        return self.end is None or moment < _bound(self.end)


@cache
def _bound(text: str) -> datetime:
    moment = _as_datetime(text)
    assert moment is not None  # checked by parse_where
    return moment


def parse_where(where: str, value: Any) -> DateWindow:
    """Validate a manifest `where:` mapping (`where` names it in errors, e.g. `benchmarks.B.where`)."""
    if not isinstance(value, dict):
        raise UserError(f"{where}: expected a mapping {{field: <record field>, from: <ISO date>, until: <ISO "
                        f"date>}}, got {value!r}")
    unknown = sorted(set(map(str, value)) - set(WHERE_KEYS))
    if unknown:
        raise UserError(f"{where}: unknown keys {unknown}; allowed keys are {list(WHERE_KEYS)}")
    field = value.get("field")
    if not isinstance(field, str) or not field.strip():
        raise UserError(f"{where}.field: expected the name of a date field of the records, got {field!r}")
    if value.get("from") is None and value.get("until") is None:
        raise UserError(f"{where}: give `from` (inclusive), `until` (exclusive) or both")
    start, end = (_bound_text(f"{where}.{key}", value.get(key)) for key in ("from", "until"))
    if start is not None and end is not None and _bound(start) >= _bound(end):
        raise UserError(f"{where}: `from` ({start}) must come before `until` ({end}); the window is empty")
    return DateWindow(field=field.strip(), start=start, end=end)


def _bound_text(where: str, value: Any) -> str | None:
    """A bound as ISO text; YAML reads an unquoted 2024-08-01 as a date, which is accepted too."""
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, date) else value.strip() if isinstance(value, str) else ""
    try:
        parsed = datetime.fromisoformat(text) if text else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise UserError(f"{where}: expected an ISO date such as \"2024-08-01\" (or a datetime "
                        f"\"2024-08-01T12:00:00\"), got {value!r}")
    if parsed.tzinfo is not None:
        raise UserError(f"{where}: give the bound without a timezone ({value!r}); record values with a "
                        "timezone are compared in UTC")
    return text
