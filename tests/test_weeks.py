import datetime as dt

from weekly.lifecycle import weeks


def test_chain_is_inclusive_and_weekly():
    chain = weeks.chain("2022-01-16", "2022-02-06")
    assert chain == ["2022-01-16", "2022-01-23", "2022-01-30", "2022-02-06"]


def test_default_backfill_length():
    assert len(weeks.chain("2022-01-16", "2024-12-29")) == 155


def test_window_is_strictly_before_the_week():
    win = weeks.window("2022-01-16", 3)
    assert win == ["2021-12-26", "2022-01-02", "2022-01-09"]
    assert all(w < "2022-01-16" for w in win)


def test_raw_weeks_cover_history_then_chain():
    raw = weeks.raw_weeks("2022-01-16", "2022-01-23", 2)
    assert raw == ["2022-01-02", "2022-01-09", "2022-01-16", "2022-01-23"]


def test_week_of_aligns_on_start():
    assert weeks.week_of(dt.date(2022, 1, 22), "2022-01-16") == "2022-01-16"
    assert weeks.week_of(dt.date(2022, 1, 23), "2022-01-16") == "2022-01-23"
    assert weeks.week_of(dt.date(2022, 1, 15), "2022-01-16") == "2022-01-09"


def test_previous_and_days_between():
    assert weeks.previous("2022-01-16") == "2022-01-09"
    assert weeks.days_between("2022-01-16", "2022-04-17") == 91
