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


def newest_labelled(week: str, label_delay_weeks: int) -> str:
    """The newest week whose outcomes are known at the start of `week`.

    The outcomes of week W are known at the end of week W + k (k = label_delay_weeks), so
    from the start of week W + k + 1 on: with k = 0, the week before.
    """
    return (parse_week(week) - (label_delay_weeks + 1) * WEEK).isoformat()


def labelled_window(week: str, n_weeks: int, label_delay_weeks: int) -> list[str]:
    """The n_weeks weeks whose outcomes are known at the start of `week`, newest last."""
    newest = parse_week(newest_labelled(week, label_delay_weeks))
    return [(newest - k * WEEK).isoformat() for k in range(n_weeks - 1, -1, -1)]


def raw_weeks(start: str, end: str, window_weeks: int, label_delay_weeks: int = 0) -> list[str]:
    """Every week a raw file is needed for: the training history before start, then the chain."""
    return window(start, window_weeks + label_delay_weeks) + chain(start, end)


def evaluated_weeks(start: str, end: str, label_delay_weeks: int) -> list[str]:
    """The weeks of the chain whose outcomes are known by the end of week `end`."""
    last = (parse_week(end) - label_delay_weeks * WEEK).isoformat()
    return [w for w in chain(start, end) if w <= last]


def week_of(day: dt.date, start: str) -> str:
    """The week (aligned on `start`, 7-day bins) that `day` falls in."""
    first = parse_week(start)
    return (first + ((day - first).days // 7) * WEEK).isoformat()


def days_between(earlier: str, later: str) -> int:
    """Whole days from `earlier` to `later`."""
    return (parse_week(later) - parse_week(earlier)).days
