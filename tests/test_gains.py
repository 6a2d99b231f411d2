"""The scorecard gains table (weekly.lifecycle.gains): band edges against numpy's quantiles, a
table worked by hand, KS against weekly.lifecycle.metrics.ks and the band test against scipy."""
import math

import numpy as np
import pytest
from scipy import stats as sps

from weekly.lifecycle import gains
from weekly.lifecycle.metrics import ks as exact_ks


def test_edges_are_the_training_quantiles_without_duplicates():
    score = np.random.default_rng(0).uniform(size=101)
    assert gains.band_edges(score) == pytest.approx(np.quantile(score, np.arange(1, 10) / 10).tolist())
    assert gains.band_edges(score, bands=4) == pytest.approx(np.quantile(score, [0.25, 0.5, 0.75]).tolist())
    tied = np.array([0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.3, 0.3])
    # quartiles 0.1 (the lowest score: dropped, its band would stay empty), 0.15, 0.3, 0.3 (merged)
    assert np.quantile(tied, [0.25, 0.5, 0.75]) == pytest.approx([0.1, 0.15, 0.3])
    assert gains.band_edges(tied, bands=4) == pytest.approx([0.15, 0.3])
    assert gains.band_edges(np.array([]), 10) == []
    assert gains.band_edges(np.full(5, 0.4)) == []


def test_a_score_on_an_edge_goes_to_the_riskier_band():
    band = gains.assign(np.array([0.0, 0.2, 0.25, 0.5, 0.7, 0.9]), [0.2, 0.5, 0.8])
    assert band.dtype == np.int64
    assert band.tolist() == [0, 1, 1, 2, 2, 3]
    assert gains.assign(np.array([0.3, 0.9]), []).tolist() == [0, 0]


def test_pooled_counts_are_the_counts_of_the_whole():
    rng = np.random.default_rng(1)
    band, event = rng.integers(0, 4, 50), rng.uniform(size=50) < 0.3
    whole = gains.band_counts(band, event, 4)
    parts = [gains.band_counts(band[:20], event[:20], 4), gains.band_counts(band[20:], event[20:], 4)]
    assert gains.add_counts(parts) == whole
    assert sum(whole["rows"]) == 50 and sum(whole["events"]) == int(event.sum())
    with pytest.raises(ValueError):
        gains.add_counts([whole, {"rows": [1], "events": [0]}])
    with pytest.raises(ValueError):
        gains.band_counts(np.array([0, 4]), np.array([True, False]), 4)


# Three bands (edges 0.3, 0.6): 0 = low risk, 2 = riskiest.
COUNTS = {"rows": [50, 30, 20], "events": [2, 6, 12]}


def test_a_small_table_worked_by_hand():
    t = gains.table(COUNTS, [0.3, 0.6], None, 0.95, 0.05)
    assert (t["rows"], t["events"]) == (100, 20)
    assert t["event_rate"]["value"] == pytest.approx(0.2)
    top, middle, low = t["bands"]
    assert [b["band"] for b in t["bands"]] == [1, 2, 3]
    assert (top["score_low"], top["score_high"]) == (0.6, None)
    assert (middle["score_low"], middle["score_high"]) == (0.3, 0.6)
    assert (low["score_low"], low["score_high"]) == (None, 0.3)
    assert [b["rows"] for b in t["bands"]] == [20, 30, 50]
    assert [b["non_events"] for b in t["bands"]] == [8, 24, 48]
    assert [b["share"] for b in t["bands"]] == pytest.approx([0.2, 0.3, 0.5])
    # events 12, 6, 2 of 20; non-events 8, 24, 48 of 80
    assert [b["cumulative_events"] for b in t["bands"]] == pytest.approx([0.6, 0.9, 1.0])
    assert [b["cumulative_non_events"] for b in t["bands"]] == pytest.approx([0.1, 0.4, 1.0])
    assert [b["ks"] for b in t["bands"]] == pytest.approx([0.5, 0.5, 0.0])
    assert t["ks"] == pytest.approx(0.5) and t["ks_band"] == 1
    assert [b["lift"] for b in t["bands"]] == pytest.approx([3.0, 1.0, 0.2])
    lo, hi = sps.binomtest(12, 20).proportion_ci(0.95, method="wilson")
    assert (top["event_rate"]["low"], top["event_rate"]["high"]) == pytest.approx((lo, hi))
    # no validation: no test, nothing flagged
    assert all(b["validation_rows"] is None and b["p_value"] is None and not b["flagged"] for b in t["bands"])
    assert t["flagged_bands"] == []
    assert (t["confidence"], t["alpha"]) == (0.95, 0.05) and "Holm" in t["test"]


def test_ks_of_one_band_per_score_is_the_exact_ks_and_coarser_bands_never_exceed_it():
    rng = np.random.default_rng(2)
    score = np.round(rng.uniform(size=60), 2)
    event = rng.uniform(size=60) < score  # riskier scores default more often
    distinct = np.unique(score)
    edges = distinct[1:].tolist()  # every distinct score its own band
    counts = gains.band_counts(gains.assign(score, edges), event, len(edges) + 1)
    assert gains.table(counts, edges, None, 0.95, 0.05)["ks"] == pytest.approx(exact_ks(event, score))
    deciles = gains.band_edges(score)
    coarse = gains.band_counts(gains.assign(score, deciles), event, len(deciles) + 1)
    assert gains.table(coarse, deciles, None, 0.95, 0.05)["ks"] <= exact_ks(event, score) + 1e-12


def test_band_test_is_fishers_exact_test_as_scipy_computes_it_and_holm_flags_by_hand():
    validation = {"rows": [100, 100, 100], "events": [2, 6, 12]}
    # riskiest band 12 of 20 against 12 of 100: far apart; middle 6 of 30 against 6 of 100
    t = gains.table(COUNTS, [0.3, 0.6], validation, 0.95, 0.05)
    top, middle, low = t["bands"]
    pooled = 24 / 120
    z = (12 / 20 - 12 / 100) / math.sqrt(pooled * (1 - pooled) * (1 / 20 + 1 / 100))
    assert top["z"] == pytest.approx(z)  # the direction and size, as a person reads it
    assert gains.two_proportion_z(12, 20, 12, 100)[1] == pytest.approx(2 * sps.norm.sf(z))
    for row, i in ((top, 2), (middle, 1), (low, 0)):
        cells = [[COUNTS["events"][i], COUNTS["rows"][i] - COUNTS["events"][i]],
                 [validation["events"][i], validation["rows"][i] - validation["events"][i]]]
        assert row["p_value"] == pytest.approx(sps.fisher_exact(cells).pvalue, rel=1e-9)
        assert row["validation_event_rate"] == validation["events"][i] / validation["rows"][i]
    # Holm by hand: 3 p_(1) < 0.05; 2 p_(2) = 0.062 is not, and the steps stop there
    assert top["p_value"] * 3 < 0.05 < middle["p_value"] * 2 and middle["p_value"] < low["p_value"]
    assert t["flagged_bands"] == [1]
    assert [b["p_adjusted"] for b in t["bands"]] == pytest.approx(
        [3 * top["p_value"], 2 * middle["p_value"], low["p_value"]])


def test_holm_steps_down_and_stops_at_the_first_kept_hypothesis():
    # sorted 0.01, 0.02, 0.03, 0.2 of m = 4: 0.04, 0.06, 0.06 (monotone), 0.2
    assert gains.holm([0.03, 0.2, None, 0.01, 0.02]) == pytest.approx([0.06, 0.2, None, 0.04, 0.06])
    assert gains.holm([]) == [] and gains.holm([None]) == [None]
    assert gains.holm([0.3, 0.4]) == pytest.approx([0.6, 0.6])  # capped by monotonicity, then at 1
    assert gains.holm([0.7, 0.9]) == pytest.approx([1.0, 1.0])


def test_holm_in_the_table_flags_only_what_survives_the_correction():
    counts = {"rows": [100, 100, 100], "events": [10, 10, 10]}
    # riskiest first: 10 of 100 now against 1, 3 and 3 of 100 at validation
    validation = {"rows": [100, 100, 100], "events": [3, 3, 1]}
    t = gains.table(counts, [0.3, 0.6], validation, 0.95, 0.05)
    p = [b["p_value"] for b in t["bands"]]
    assert p == pytest.approx([sps.fisher_exact([[10, 90], [1, 99]]).pvalue,
                               sps.fisher_exact([[10, 90], [3, 97]]).pvalue] * 1 + [sps.fisher_exact([[10, 90], [3, 97]]).pvalue])
    assert p[0] < 0.05 / 3 and p[1] > 0.05 / 2  # Holm: the first is rejected; the second is not, the steps stop
    assert t["flagged_bands"] == [1]
    assert [b["flagged"] for b in t["bands"]] == [True, False, False]
