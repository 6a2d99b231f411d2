import numpy as np
import pandas as pd
import pytest

from weekly.lifecycle.drift import psi, reference, reference_rows, stability

COLUMNS = {"numeric": ["x"], "categorical": ["c"]}


def frame(seed, shift=0.0, n=2000):
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    x[rng.random(n) < 0.05] = np.nan
    c = pd.Series(rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]), dtype=object)
    return pd.DataFrame({"x": x, "c": c})


def test_psi_by_hand():
    expected, actual = [0.5, 0.5], [0.25, 0.75]
    assert psi(expected, actual) == pytest.approx(0.25 * np.log(0.5) * -1 + 0.25 * np.log(1.5))


def test_the_same_population_is_stable_and_a_shifted_one_is_not():
    ref = reference(frame(0), COLUMNS, np.linspace(0, 1, 2000))
    same = stability(ref, frame(1), np.linspace(0, 1, 2000))
    assert same["features"]["x"] < 0.02 and same["features"]["c"] < 0.02 and same["score"] < 0.02
    moved = stability(ref, frame(1, shift=1.0), np.linspace(0.5, 1, 2000))
    assert moved["features"]["x"] > 0.25 and moved["score"] > 0.25
    assert moved["features"]["c"] < 0.02  # only the numeric feature moved


def test_missing_values_and_new_categories_have_their_own_bins():
    ref = reference(frame(0), COLUMNS, np.zeros(2000))
    week = frame(1).assign(x=np.nan, c="never-seen")
    result = stability(ref, week, np.zeros(2000))
    assert result["features"]["x"] > 1 and result["features"]["c"] > 1


def test_an_empty_week_has_no_psi():
    ref = reference(frame(0), COLUMNS, np.zeros(2000))
    assert stability(ref, frame(0).iloc[0:0], np.zeros(0)) == {"rows": 0, "features": {"x": None, "c": None}, "score": None}


def test_a_reference_takes_every_row_up_to_its_limit():
    frame = pd.DataFrame({"row": range(5)})
    assert reference_rows(frame, limit=5)["row"].tolist() == [0, 1, 2, 3, 4]


def test_a_bigger_frame_gives_evenly_spaced_rows_first_and_last_included():
    assert reference_rows(pd.DataFrame({"row": range(6)}), limit=5)["row"].tolist() == [0, 1, 2, 4, 5]
    assert reference_rows(pd.DataFrame({"row": range(101)}), limit=5)["row"].tolist() == [0, 25, 50, 75, 100]


def test_rows_are_taken_by_position_whatever_the_index():
    frame = pd.DataFrame({"row": range(9)}, index=[40, 3, 3, 17, -1, 8, 8, 0, 99])
    assert reference_rows(frame, limit=3)["row"].tolist() == [0, 4, 8]
