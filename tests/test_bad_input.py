"""Bad input stops the real workflow with one clear message and loses nothing already produced."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml

from helpers import TINY_WEEKS, clone, file_states, make_project, run, snakemake

WEEK = "2022-02-20"  # week 6 of the tiny chain: weeks 1-5 are already done and must stay so
RAW = f"data/raw/applications/{WEEK}.parquet"
OUTCOMES = f"data/raw/outcomes/{WEEK}.parquet"


def drop_column(df):
    return df.drop(columns=["age"])


def add_column(df):
    return df.assign(favourite_colour="blue")


def text_dtype(df):
    return df.assign(age=df["age"].astype(str))


def unknown_label(df):
    df.loc[0, "credit_score"] = "Excellent"
    return df


@pytest.mark.parametrize(
    "path, corrupt, words",
    [
        (RAW, drop_column, ["missing column", "'age'"]),
        (RAW, add_column, ["unexpected column", "'favourite_colour'"]),
        (RAW, text_dtype, ["'age'", "dtype", "expected a numeric dtype"]),
        (OUTCOMES, unknown_label, ["'credit_score'", "unknown class label", "Excellent"]),
        (RAW, None, ["unreadable parquet file"]),
        (OUTCOMES, None, ["unreadable parquet file"]),
    ],
    ids=["missing-column", "extra-column", "wrong-dtype", "unknown-label", "unreadable-applications",
         "unreadable-outcomes"],
)
def test_bad_week_file(backfill, tmp_path, path, corrupt, words):
    root = clone(backfill[0], tmp_path / "bad")
    done = {w: file_states(root, f"weeks/{w}/*") for w in TINY_WEEKS if w < WEEK}
    target = root / path
    if corrupt is None:
        target.write_bytes(b"PAR1 this is not parquet")
    else:
        corrupt(pd.read_parquet(target)).to_parquet(target, index=False)

    result = snakemake(root, "all_weeks", check=False)
    assert result.returncode != 0
    assert f"{path} (week {WEEK})" in result.stderr
    for word in words:
        assert word in result.stderr
    # no partial output for the bad week (its applications: no scores; its outcomes: no
    # evaluation), nothing lost before it, and the failed job's log says why
    assert not (root / "weeks" / WEEK / ("preds.parquet" if path == RAW else "eval.json")).exists()
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]
    for week, state in done.items():
        assert file_states(root, f"weeks/{week}/*") == state, week
    step = "predict" if path == RAW else "evaluate"
    assert f"{path} (week {WEEK})" in (root / "logs" / step / f"{WEEK}.log").read_text()


def test_missing_week_file_with_your_own_data(backfill, tmp_path):
    # Moving `end` one week later when that week's file has not arrived.
    root = clone(backfill[0], tmp_path / "missing")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"]["generate"] = False
    params["end"] = "2022-03-13"
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    before = file_states(root, "weeks/**/*")

    result = snakemake(root, "all_weeks", check=False)
    assert result.returncode != 0
    assert "Missing input files" in result.stderr and "data/raw/applications/2022-03-13.parquet" in result.stderr
    assert file_states(root, "weeks/**/*") == before
    assert not (root / "weeks" / "2022-03-13").exists()


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda p: p.update(retrian={}), ["params.yaml", "retrian"]),
        (lambda p: p["retrain"]["time"].update(max_days="ninety"), ["params.yaml", "retrain.time.max_days", "'ninety'"]),
        (lambda p: p.update(end="2022-03-09"), ["params.yaml", "'end'", "whole number of weeks"]),
    ],
    ids=["unknown-key", "wrong-type", "misaligned-end"],
)
def test_bad_params_file(backfill, tmp_path, edit, words):
    root = clone(backfill[0], tmp_path / "params")
    params = yaml.safe_load((root / "params.yaml").read_text())
    edit(params)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    before = file_states(root, "weeks/**/*")

    result = snakemake(root, "all_weeks", check=False)
    assert result.returncode != 0
    for word in words:
        assert word in result.stderr
    assert file_states(root, "weeks/**/*") == before


def test_a_key_given_twice_in_params_yaml_stops_the_run(backfill, tmp_path):
    # PyYAML (and so Snakemake's configfile) would keep the second `seed` silently
    root = clone(backfill[0], tmp_path / "twice")
    (root / "params.yaml").write_text((root / "params.yaml").read_text() + "seed: 7\n")
    before = file_states(root, "weeks/**/*")
    result = snakemake(root, "all_weeks", check=False)
    assert result.returncode != 0
    assert "params.yaml: key 'seed' is given twice" in result.stderr
    assert file_states(root, "weeks/**/*") == before


# ------------------------------------------------- bad params.yaml, refused before any job


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A tiny project that has run nothing (a dry run answers in seconds), and its params."""
    root = make_project(tmp_path_factory.mktemp("fresh"))
    return root, yaml.safe_load((root / "params.yaml").read_text())


def one_clear_line(result, words: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output, output
    lines = [line for line in output.splitlines() if words in line]
    assert len(lines) == 1 and "params.yaml" in lines[0], output


def test_a_params_file_snakemake_would_run_as_a_template_runs_nothing(fresh):
    # `__use_yte__: true` makes Snakemake's `configfile:` evaluate `?...` values as Python;
    # the Snakefile reads params.yaml safely before, and refuses it.
    root, params = fresh
    planted = root / "planted"
    text = yaml.safe_dump(params, sort_keys=False).replace(
        f"seed: {params['seed']}", f"seed: ?__import__('pathlib').Path({str(planted)!r}).write_text('ran') and 42")
    (root / "params.yaml").write_text("__use_yte__: true\n" + text)
    try:
        one_clear_line(snakemake(root, "-n", check=False), "params.yaml: key '__use_yte__': Snakemake would run")
        status = run(["weekly", "status"], root, check=False)  # every command refuses it
        assert status.returncode == 1 and status.stderr.strip().splitlines() == [
            "weekly status: error: params.yaml: key '__use_yte__': Snakemake would run this file's expressions as "
            "Python (YTE templates); a parameters file holds data only: remove the key"]
        assert not planted.exists()
    finally:
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda p: p.update(seed=-1), "key 'seed': -1 is less than the minimum of 0"),
        (lambda p: p["retrain"]["performance"].update(floor=float("nan")), "key 'retrain.performance.floor': NaN"),
        (lambda p: p["train"]["challenger"].update(margin=float("inf")), "key 'train.challenger.margin': infinity"),
        (lambda p: p["train"].update(window_weeks=100000), "key 'train.window_weeks': 100000 is greater than"),
        (lambda p: p["data"]["columns"]["numeric"].append("salary"), "key 'data.columns.numeric': column(s) 'salary'"),
        (lambda p: p["registry"].update(tracking_uri="ftp://user:secret@host/store"),
         "key 'registry.tracking_uri': a URI of scheme 'ftp'"),
    ],
    ids=["negative-seed", "nan-floor", "inf-margin", "window-of-100000-weeks", "feature-not-generated", "ftp-store"],
)
def test_a_bad_params_file_stops_the_dry_run_in_one_line(fresh, edit, words):
    # once tracebacks, silently accepted or found only after the fits (issue 23)
    root, params = fresh
    bad = yaml.safe_load(yaml.safe_dump(params))
    edit(bad)
    (root / "params.yaml").write_text(yaml.safe_dump(bad, sort_keys=False))
    try:
        result = snakemake(root, "-n", check=False)
        one_clear_line(result, words)
        assert "secret" not in result.stdout + result.stderr
    finally:
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert not (root / "weeks").exists()
