"""The manifest's `where:` date window: half-open bounds, date and datetime values, clear errors."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import yaml

from rlvr_limits.data.where import DateWindow, parse_where
from rlvr_limits.errors import UserError

WINDOW = DateWindow(field="contest_date", start="2024-08-01", end="2025-02-01")


def keeps(value: object, window: DateWindow = WINDOW) -> bool:
    return window.keeps("f.jsonl:1", {"contest_date": value})


@pytest.mark.parametrize(("value", "kept"), [
    ("2024-08-01T00:00:00", True),  # exactly at `from`: kept
    ("2024-08-01", True),
    ("2024-07-31T23:59:59", False),
    ("2025-01-31T23:59:59", True),
    ("2025-02-01T00:00:00", False),  # exactly at `until`: dropped
    ("2025-02-01", False),
    (" 2024-09-14T00:00:00 ", True),
    (datetime(2024, 8, 1), True),
    (date(2025, 2, 1), False),
    ("2024-08-01T01:30:00+02:00", False),  # 2024-07-31T23:30 in UTC
    ("2025-01-31T23:30:00-01:00", False),  # 2025-02-01T00:30 in UTC
    ("2024-08-01T00:00:00Z", True),
])
def test_the_window_is_half_open(value, kept):
    assert keeps(value) is kept


def test_open_ended_windows():
    since = DateWindow(field="contest_date", start="2024-08-01", end=None)
    before = DateWindow(field="contest_date", start=None, end="2024-08-01T12:00:00")
    assert keeps("2099-01-01", since) and not keeps("2024-07-31", since)
    assert keeps("2024-08-01T11:59:59", before) and not keeps("2024-08-01T12:00:00", before)
    assert before.describe() == "contest_date in [-inf, 2024-08-01T12:00:00)"


@pytest.mark.parametrize(("record", "message"), [
    ({"date": "2024-08-01"}, "f.jsonl:1: no field `contest_date`"),
    ({"contest_date": "yesterday"}, "f.jsonl:1: field `contest_date` is 'yesterday', not an ISO date"),
    ({"contest_date": 20240801}, "not an ISO date"),
    ({"contest_date": None}, "not an ISO date"),
])
def test_records_that_cannot_be_placed_are_errors(record, message):
    with pytest.raises(UserError) as info:
        WINDOW.keeps("f.jsonl:1", record)
    assert message in str(info.value) and "contest_date in [2024-08-01, 2025-02-01)" in str(info.value)


def test_parse_accepts_quoted_and_unquoted_yaml_dates():
    quoted = yaml.safe_load('{field: contest_date, from: "2024-08-01", until: "2025-02-01"}')
    unquoted = yaml.safe_load("{field: contest_date, from: 2024-08-01, until: 2025-02-01 06:00:00}")
    assert parse_where("w", quoted) == WINDOW
    parsed = parse_where("w", unquoted)
    assert (parsed.start, parsed.end) == ("2024-08-01", "2025-02-01T06:00:00")
    assert parse_where("w", {"field": " d ", "until": "2025-02-01"}).spec() == {
        "field": "d", "from": None, "until": "2025-02-01"}


@pytest.mark.parametrize(("value", "message"), [
    ("contest_date >= 2024-08-01", "w: expected a mapping {field: <record field>"),
    ({"field": "d", "from": "2024-08-01", "to": "2025-02-01"}, "w: unknown keys ['to']"),
    ({"from": "2024-08-01"}, "w.field: expected the name of a date field"),
    ({"field": "", "from": "2024-08-01"}, "w.field: expected the name of a date field"),
    ({"field": "d"}, "w: give `from` (inclusive), `until` (exclusive) or both"),
    ({"field": "d", "from": "Aug 2024"}, "w.from: expected an ISO date such as"),
    ({"field": "d", "until": 2025}, "w.until: expected an ISO date such as"),
    ({"field": "d", "from": "2024-08-01T00:00:00+02:00"}, "w.from: give the bound without a timezone"),
    ({"field": "d", "from": "2025-02-01", "until": "2025-02-01"}, "w: `from` (2025-02-01) must come before"),
    ({"field": "d", "from": "2025-03-01", "until": "2025-02-01"}, "the window is empty"),
])
def test_malformed_filters_are_named(value, message):
    with pytest.raises(UserError) as info:
        parse_where("w", value)
    assert message in str(info.value)
