"""Week arithmetic: a week is named by its first day, weeks are 7 days apart."""
from __future__ import annotations

import datetime as dt

WEEK = dt.timedelta(days=7)


def parse_week(name: str) -> dt.date:
    """The date of the ISO week name `YYYY-MM-DD`."""
    return dt.date.fromisoformat(name)


def chain(start: str, end: str) -> list[str]:
    """Every week from start to end inclusive, in order."""
    first, last = parse_week(start), parse_week(end)
    return [(first + i * WEEK).isoformat() for i in range((last - first).days // 7 + 1)]


def previous(week: str) -> str:
    """The week before `week`."""
    return (parse_week(week) - WEEK).isoformat()


def window(week: str, n_weeks: int) -> list[str]:
    """The n_weeks weeks before `week`, oldest first; never `week` itself or a later one."""
    day = parse_week(week)
    return [(day - k * WEEK).isoformat() for k in range(n_weeks, 0, -1)]


def raw_weeks(start: str, end: str, window_weeks: int) -> list[str]:
    """Every week a raw file is needed for: the training history before start, then the chain."""
    return window(start, window_weeks) + chain(start, end)


def week_of(day: dt.date, start: str) -> str:
    """The week (aligned on `start`, 7-day bins) that `day` falls in."""
    first = parse_week(start)
    return (first + ((day - first).days // 7) * WEEK).isoformat()


def days_between(earlier: str, later: str) -> int:
    """Whole days from `earlier` to `later`."""
    return (parse_week(later) - parse_week(earlier)).days
