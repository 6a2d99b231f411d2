"""weekly.lifecycle.stats against references: scipy, scikit-learn, textbook O(n^2) formulas, a published
worked example (Hanley & McNeil 1982) and simulation, every seed fixed."""
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import f1_score, roc_auc_score

from weekly.lifecycle import drift
from weekly.lifecycle.stats import (
    _psi_rows,
    bootstrap_macro_f1,
    chi2_cdf,
    chi2_ppf,
    chi2_sf,
    delong,
    macro_f1_from_confusion,
    macro_f1_from_confusions,
    normal_quantile,
    paired_bootstrap_macro_f1,
    psi,
    psi_critical,
    psi_critical_asymptotic,
    wilson,
)

DECILES = np.full(10, 0.1)
CATEGORIES = np.array([0.3, 0.2, 0.2, 0.1, 0.1, 0.05, 0.03, 0.01, 0.01])


def sklearn_macro_f1(y, pred):
    present = np.union1d(y, pred)
    return f1_score(y, pred, labels=present, average="macro", zero_division=0)


def noisy_predictions(rng, y, n_classes, accuracy):
    """Predictions equal to y with probability `accuracy`, else a uniformly random class."""
    return np.where(rng.random(len(y)) < accuracy, y, rng.integers(0, n_classes, len(y)))


def test_the_module_imports_neither_scipy_nor_sklearn():
    code = "import sys, weekly.lifecycle.stats; print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'sklearn'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- proportions --------------------------------------------------------------------------------

@pytest.mark.parametrize("k,n", [(0, 1), (1, 1), (0, 10), (10, 10), (3, 10), (5, 7), (1, 250), (249, 250), (120, 300)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy(k, n, confidence):
    reference = sps.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    low, high = wilson(k, n, confidence)
    assert low == pytest.approx(reference.low, abs=1e-12)
    assert high == pytest.approx(reference.high, abs=1e-12)
    assert 0.0 <= low <= k / n <= high <= 1.0


def test_wilson_of_nothing_and_bad_counts():
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(11, 10)
    with pytest.raises(ValueError):
        wilson(1, 10, confidence=1.0)


@pytest.mark.parametrize("p", [0.5, 0.8, 0.975, 0.995, 1e-6, 0.999999])
def test_normal_quantile_matches_scipy(p):
    assert normal_quantile(p) == pytest.approx(sps.norm.ppf(p), rel=1e-12, abs=1e-14)


# --- macro F1 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_macro_f1_matches_sklearn_over_present_classes(seed):
    rng = np.random.default_rng(seed)
    k, n = 5, int(rng.integers(5, 60))
    y = rng.choice([0, 1, 3], size=n, p=[0.6, 0.3, 0.1])  # 2 and 4 often absent from truth
    pred = noisy_predictions(rng, y, 4, 0.6)  # 4 never predicted: absent from both, left out
    cm = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
    assert macro_f1_from_confusion(cm) == pytest.approx(sklearn_macro_f1(y, pred), abs=1e-12)


def test_macro_f1_of_a_stack_and_of_nothing():
    rng = np.random.default_rng(0)
    cms = rng.integers(0, 5, size=(7, 3, 3))
    cms[2] = 0
    stacked = macro_f1_from_confusions(cms)
    assert math.isnan(stacked[2]) and macro_f1_from_confusion(cms[2]) is None
    for i in (0, 1, 3, 4, 5, 6):
        assert stacked[i] == pytest.approx(macro_f1_from_confusion(cms[i]))


# --- bootstrap of macro F1 ----------------------------------------------------------------------

def test_bootstrap_replicates_are_sklearns_on_the_drawn_rows():
    """The vectorised replicates equal sklearn's macro F1 on each resample, drawn the documented
    way (default_rng(seed).integers(0, n, (resamples, n))), including replicates missing a class."""
    rng = np.random.default_rng(3)
    n, k, resamples, seed = 40, 3, 60, 11
    y = rng.choice(3, size=n, p=[0.6, 0.35, 0.05])
    pred = noisy_predictions(rng, y, k, 0.7)
    index = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    replicates = np.array([sklearn_macro_f1(y[i], pred[i]) for i in index])
    got = bootstrap_macro_f1(y, pred, k, resamples, seed, confidence=0.9)
    assert got["value"] == pytest.approx(sklearn_macro_f1(y, pred), abs=1e-12)
    assert got["se"] == pytest.approx(np.std(replicates, ddof=1), abs=1e-12)
    assert got["low"] == pytest.approx(np.quantile(replicates, 0.05), abs=1e-12)
    assert got["high"] == pytest.approx(np.quantile(replicates, 0.95), abs=1e-12)
    assert got["resamples"] == resamples


def test_bootstrap_is_deterministic_for_a_seed():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    pred = noisy_predictions(rng, y, 3, 0.7)
    assert bootstrap_macro_f1(y, pred, 3, 200, 5) == bootstrap_macro_f1(y, pred, 3, 200, 5)
    assert bootstrap_macro_f1(y, pred, 3, 200, [5, 2]) == bootstrap_macro_f1(y, pred, 3, 200, [5, 2])
    assert bootstrap_macro_f1(y, pred, 3, 200, 5)["se"] != bootstrap_macro_f1(y, pred, 3, 200, 6)["se"]


def test_bootstrap_of_an_empty_week_and_bad_labels():
    empty = np.array([], dtype=int)
    assert bootstrap_macro_f1(empty, empty, 2, 100, 0) == {"value": None, "se": None, "low": None, "high": None,
                                                           "resamples": 100}
    with pytest.raises(ValueError):
        bootstrap_macro_f1(np.array([0, 2]), np.array([0, 1]), 2, 10, 0)
    with pytest.raises(ValueError):
        bootstrap_macro_f1(np.array([0, 1]), np.array([0]), 2, 10, 0)


def test_bootstrap_interval_covers_the_true_macro_f1_and_se_matches_its_spread():
    """A known binary model: P(y=1) = 0.3, P(pred=1 | y=1) = 0.75, P(pred=1 | y=0) = 0.15. Its
    population macro F1 is that of the expected confusion matrix; the 95 % interval of 200
    independent samples covers it about 95 % of the time, and the mean se is close to the
    standard deviation of macro F1 across the samples."""
    p_one, hit, false_alarm = 0.3, 0.75, 0.15
    truth = macro_f1_from_confusion(np.array([[(1 - p_one) * (1 - false_alarm), (1 - p_one) * false_alarm],
                                              [p_one * (1 - hit), p_one * hit]]))
    rng = np.random.default_rng(2024)
    n, repetitions = 400, 200
    covered, values, ses = 0, [], []
    for r in range(repetitions):
        y = (rng.random(n) < p_one).astype(int)
        pred = (rng.random(n) < np.where(y == 1, hit, false_alarm)).astype(int)
        result = bootstrap_macro_f1(y, pred, 2, 300, seed=[7, r])
        covered += result["low"] <= truth <= result["high"]
        values.append(result["value"])
        ses.append(result["se"])
    assert abs(covered / repetitions - 0.95) <= 0.05
    assert np.mean(ses) == pytest.approx(np.std(values, ddof=1), rel=0.15)


# --- paired bootstrap ---------------------------------------------------------------------------

def test_paired_bootstrap_of_identical_models():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 500)
    pred = noisy_predictions(rng, y, 3, 0.6)
    got = paired_bootstrap_macro_f1(y, pred, pred, 3, 300, seed=0)
    assert got["diff"] == {"value": 0.0, "se": 0.0, "low": 0.0, "high": 0.0}
    assert got["p_value"] == 1.0 and got["p_not_greater"] == 1.0
    assert got["a"] == got["b"]


def test_paired_bootstrap_finds_a_clearly_better_model():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 1000)
    better, worse = noisy_predictions(rng, y, 3, 0.9), noisy_predictions(rng, y, 3, 0.7)
    got = paired_bootstrap_macro_f1(y, better, worse, 3, 999, seed=0)
    assert got["diff"]["value"] > 0.1 and got["diff"]["low"] > 0
    assert got["p_value"] < 0.01 and got["p_not_greater"] == 0.0
    backwards = paired_bootstrap_macro_f1(y, worse, better, 3, 999, seed=0)
    assert backwards["p_value"] > 0.99


def test_paired_bootstrap_shares_rows_and_its_p_value_is_the_stated_share():
    """Each model's summary is the unpaired bootstrap's on the same seed (same rows), and p_value
    is (1 + #(diff <= margin)) / (1 + resamples) on replicates rebuilt with sklearn."""
    rng = np.random.default_rng(4)
    n, k, resamples, seed, margin = 60, 3, 80, 9, 0.02
    y = rng.integers(0, k, n)
    a, b = noisy_predictions(rng, y, k, 0.8), noisy_predictions(rng, y, k, 0.75)
    got = paired_bootstrap_macro_f1(y, a, b, k, resamples, seed, margin=margin)
    assert got["a"] == {key: v for key, v in bootstrap_macro_f1(y, a, k, resamples, seed).items() if key != "resamples"}
    assert got["b"] == {key: v for key, v in bootstrap_macro_f1(y, b, k, resamples, seed).items() if key != "resamples"}
    index = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    diff = np.array([sklearn_macro_f1(y[i], a[i]) - sklearn_macro_f1(y[i], b[i]) for i in index])
    assert got["p_value"] == pytest.approx((1 + np.sum(diff <= margin)) / (1 + resamples))
    assert got["p_not_greater"] == pytest.approx(np.mean(diff <= 0))
    assert got["diff"]["se"] == pytest.approx(np.std(diff, ddof=1))
    assert paired_bootstrap_macro_f1(y, a, b, k, resamples, seed, margin=0.2)["p_value"] >= got["p_value"]


def test_paired_difference_is_narrower_than_unpaired_when_predictions_agree():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 1500)
    a = noisy_predictions(rng, y, 3, 0.7)
    b = np.where(rng.random(1500) < 0.1, noisy_predictions(rng, y, 3, 0.7), a)  # b agrees with a on ~93 %
    got = paired_bootstrap_macro_f1(y, a, b, 3, 400, seed=0)
    unpaired_se = math.hypot(got["a"]["se"], got["b"]["se"])
    assert got["diff"]["se"] < 0.5 * unpaired_se
    assert got["diff"]["high"] - got["diff"]["low"] < 0.5 * 2 * normal_quantile(0.975) * unpaired_se


def test_paired_bootstrap_of_an_empty_week():
    empty = np.array([], dtype=int)
    got = paired_bootstrap_macro_f1(empty, empty, empty, 2, 10, 0)
    assert got["diff"]["value"] is None and got["p_value"] is None and got["a"]["se"] is None


# --- AUC and DeLong -----------------------------------------------------------------------------

def textbook_delong_variance(positive, score):
    """DeLong et al. (1988) with the Mann-Whitney kernel psi(x, y) = 1, 1/2, 0, O(m n)."""
    x, y = score[positive], score[~positive]
    kernel = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    v10, v01 = kernel.mean(axis=1), kernel.mean(axis=0)
    return kernel.mean(), np.var(v10, ddof=1) / len(x) + np.var(v01, ddof=1) / len(y)


@pytest.mark.parametrize("seed", range(4))
def test_delong_matches_sklearn_auc_and_the_textbook_variance(seed):
    rng = np.random.default_rng(seed)
    n = 300
    positive = rng.random(n) < 0.25
    score = np.round(rng.normal(positive * 0.8, 1.0), 1)  # rounded: many ties
    got = delong(positive, score)
    auc, variance = textbook_delong_variance(positive, score)
    assert got["auc"] == pytest.approx(roc_auc_score(positive, score), abs=1e-12)
    assert got["auc"] == pytest.approx(auc, abs=1e-12)
    assert got["se"] ** 2 == pytest.approx(variance, rel=1e-10)
    # the logit-scale interval, by hand
    z, logit = sps.norm.ppf(0.975), math.log(auc / (1 - auc))
    half = z * math.sqrt(variance) / (auc * (1 - auc))
    assert got["low"] == pytest.approx(1 / (1 + math.exp(-(logit - half))))
    assert got["high"] == pytest.approx(1 / (1 + math.exp(-(logit + half))))
    assert 0 < got["low"] < got["auc"] < got["high"] < 1
    narrow = delong(positive, score, confidence=0.8)
    assert got["low"] < narrow["low"] < narrow["high"] < got["high"]


def test_delong_on_hanley_and_mcneil_1982():
    """Hanley & McNeil (1982), Table 1: 109 CT images rated 1..5, 58 normal, 51 abnormal; AUC
    0.893, SE 0.032 by their exponential approximation. DeLong's nonparametric SE is 0.031."""
    normal, abnormal = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    rating = np.concatenate([np.repeat(np.arange(1, 6), normal), np.repeat(np.arange(1, 6), abnormal)])
    positive = np.repeat([False, True], [58, 51])
    got = delong(positive, rating)
    assert round(got["auc"], 3) == 0.893
    assert round(got["se"], 2) == 0.03 and abs(got["se"] - 0.032) < 0.002
    assert got["se"] ** 2 == pytest.approx(textbook_delong_variance(positive, rating)[1], rel=1e-12)


def test_delong_se_is_close_to_a_bootstrap_estimate():
    rng = np.random.default_rng(8)
    n = 2000
    positive = rng.random(n) < 0.2
    score = rng.normal(positive * 1.0, 1.0)
    got = delong(positive, score)
    index = np.random.default_rng(0).integers(0, n, size=(400, n))
    replicates = [roc_auc_score(positive[i], score[i]) for i in index]
    assert got["se"] == pytest.approx(np.std(replicates, ddof=1), rel=0.1)


def test_delong_edge_cases():
    assert delong(np.array([True, True]), np.array([0.1, 0.2])) is None
    assert delong(np.array([], dtype=bool), np.array([])) is None
    perfect = delong(np.array([False, False, True, True]), np.array([0.1, 0.2, 0.8, 0.9]))
    assert perfect == {"auc": 1.0, "se": 0.0, "low": 1.0, "high": 1.0}
    single = delong(np.array([True, False, False]), np.array([0.5, 0.1, 0.9]))
    assert single == {"auc": 0.5, "se": None, "low": None, "high": None}


# --- chi-square ---------------------------------------------------------------------------------

PROBABILITIES = [0.5, 0.6, 0.75, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 0.9999]


def test_chi2_quantile_matches_scipy_for_df_1_to_60():
    got = np.array([[chi2_ppf(p, df) for p in PROBABILITIES] for df in range(1, 61)])
    reference = sps.chi2.ppf(PROBABILITIES, np.arange(1, 61)[:, None])
    assert np.max(np.abs(got / reference - 1)) < 1e-9


@pytest.mark.parametrize("df", [1, 2, 3, 9, 30, 59, 120])
@pytest.mark.parametrize("x", [1e-3, 0.5, 3.0, 15.0, 80.0, 300.0])
def test_chi2_cdf_and_sf_match_scipy(df, x):
    assert chi2_cdf(x, df) == pytest.approx(sps.chi2.cdf(x, df), rel=1e-10, abs=1e-300)
    assert chi2_sf(x, df) == pytest.approx(sps.chi2.sf(x, df), rel=1e-10, abs=1e-300)


def test_chi2_quantile_refuses_probabilities_outside_0_1():
    with pytest.raises(ValueError):
        chi2_ppf(1.0, 3)


@pytest.mark.parametrize("n,m,bins,alpha", [(300, 200_000, 10, 0.05), (60, 5_000, 12, 0.01), (15, 15, 2, 0.1),
                                            (10_000, 10_000, 61, 0.0001)])
def test_psi_critical_asymptotic_matches_scipy(n, m, bins, alpha):
    reference = (1 / n + 1 / m) * sps.chi2.ppf(1 - alpha, bins - 1)
    assert psi_critical_asymptotic(n, m, bins, alpha) == pytest.approx(reference, rel=1e-9)
    with pytest.raises(ValueError):
        psi_critical_asymptotic(0, m, bins, alpha)


# --- PSI and its critical value -----------------------------------------------------------------

def test_psi_is_the_drift_reports_and_the_vectorised_one_agrees():
    assert psi is drift.psi
    rng = np.random.default_rng(0)
    expected = rng.dirichlet(np.ones(9), size=20)
    actual = rng.dirichlet(np.ones(9), size=20)
    actual[:, 3] = 0.0  # floored
    got = _psi_rows(expected, actual)
    assert got == pytest.approx([drift.psi(list(e), list(a)) for e, a in zip(expected, actual)], rel=1e-12)


def test_psi_critical_is_deterministic_and_none_for_an_empty_week():
    assert psi_critical(DECILES, 300, 200_000, 0.05, seed=1) == psi_critical(DECILES, 300, 200_000, 0.05, seed=1)
    assert psi_critical(DECILES, 0, 200_000, 0.05) is None
    # bins of share 0 are dropped and shares renormalised: the same draws as without them
    assert psi_critical([0.2, 0.0, 0.2, 0.2, 0.2, 0.2], 100, 1000, 0.05) == psi_critical(np.full(5, 1.0), 100, 1000, 0.05)


def test_psi_critical_converges_to_the_asymptotic_value_for_large_samples():
    exact = psi_critical(DECILES, 20_000, 200_000, 0.05)
    assert exact == pytest.approx(psi_critical_asymptotic(20_000, 200_000, 10, 0.05), rel=0.1)


def test_psi_critical_is_far_above_the_asymptotic_value_for_a_small_week():
    assert psi_critical(DECILES, 15, 200_000, 0.05) > 2 * psi_critical_asymptotic(15, 200_000, 10, 0.05)


def false_alarm_rate(shares, n, m, threshold, seed, samples=2000):
    """Share of fresh no-change (reference, week) samples whose PSI, by the drift report's own
    function, is above `threshold`."""
    rng = np.random.default_rng(seed)
    expected = rng.multinomial(m, shares, size=samples) / m
    actual = rng.multinomial(n, shares, size=samples) / n
    return np.mean([drift.psi(list(e), list(a)) > threshold for e, a in zip(expected, actual)])


@pytest.mark.parametrize("shares", [DECILES, CATEGORIES], ids=["deciles", "rare_categories"])
@pytest.mark.parametrize("n", [60, 1500])
def test_psi_critical_false_alarm_rate_is_alpha(shares, n):
    m, alpha = 20_000, 0.05
    threshold = psi_critical(shares, n, m, alpha, seed=3)
    assert abs(false_alarm_rate(shares, n, m, threshold, seed=99) - alpha) <= 0.02
    if n == 60 and shares is CATEGORIES:  # what the exact value is for: rare bins in a small week
        asymptotic = psi_critical_asymptotic(n, m, len(shares), alpha)
        assert false_alarm_rate(shares, n, m, asymptotic, seed=99) > 3 * alpha
