"""The model card of a registered version: drawn from a full card and from a bare one,
opened from disk in headless Chromium as a reviewer would, and found by `weekly card`."""
from __future__ import annotations

import copy
import json
import re

import pytest

from helpers import REPO
from test_lifecycle import chromium
from weekly.commands.command import main
from weekly.reporting import card as cards

CLASSES = ["Poor", "Standard", "Good"]
SECTIONS = ["Summary", "Training", "Features", "Algorithm settings", "Validation", "Calibration", "Gains table",
            "Segments", "Fairness", "Challenger comparison", "Candidates", "Known limits", "Libraries"]
MINIMAL = {"model_name": "credit-scoring", "version": "3", "algorithm": "catboost"}


def band(k: int, low, high, rows: int, events: int, cum_events: float, cum_non: float, flagged: bool = False) -> dict:
    rate = events / rows
    return {"band": k, "score_low": low, "score_high": high, "rows": rows, "events": events, "non_events": rows - events,
            "share": rows / 1500, "event_rate": {"value": rate, "low": max(rate - 0.05, 0), "high": min(rate + 0.05, 1)},
            "cumulative_events": cum_events, "cumulative_non_events": cum_non, "ks": cum_events - cum_non,
            "lift": rate / 0.2, "validation_rows": 140, "validation_event_rate": rate + (0.09 if flagged else 0.01),
            "z": 2.9 if flagged else 0.3, "p_value": 0.004 if flagged else 0.76,
            "p_adjusted": 0.02 if flagged else 1.0, "flagged": flagged}


def figure(value: float, width: float = 0.03) -> dict:
    return {"value": value, "low": value - width, "high": value + width}


def full_card() -> dict:
    """A card as the registration assembles it (weekly.reporting.card's docstring)."""
    bands = [band(1, 0.62, None, 150, 120, 0.40, 0.025), band(2, 0.41, 0.62, 150, 75, 0.65, 0.0875),
             band(3, 0.27, 0.41, 300, 60, 0.85, 0.2875, flagged=True), band(4, 0.12, 0.27, 450, 36, 0.97, 0.6325),
             band(5, None, 0.12, 450, 9, 1.0, 1.0)]
    return {
        "model_name": "credit-scoring", "version": "7", "week": "2023-03-12", "algorithm": "lightgbm",
        "model_uri": "models:/credit-scoring/7", "model_sha256": "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56abcd",
        "classes": CLASSES, "adverse_class": "Poor", "threshold": None,
        "training": {"first_week": "2022-10-23", "last_week": "2023-03-05", "weeks": 20, "valid_weeks": ["2023-03-05"],
                     "train_rows": 28500, "valid_rows": 1500, "refit_rows": 30000, "recency_half_life_weeks": 4,
                     "refit": True, "seed": 42},
        "features": {"numeric": ["age", "annual_income", "outstanding_debt", "credit_utilization_ratio"],
                     "categorical": ["occupation", "credit_mix"]},
        "hyperparameters": {"num_iterations": 150, "learning_rate": 0.05, "num_leaves": 31, "class_weight": None},
        "validation": {"confidence": 0.95, "rows": 1500, "macro_f1": figure(0.83, 0.02), "auc": figure(0.94, 0.01),
                       "accuracy": 0.84, "log_loss": 0.41,
                       "per_class": {"Poor": {"precision": 0.8, "recall": 0.7, "f1": 0.75, "support": 300},
                                     "Standard": {"precision": 0.85, "recall": 0.88, "f1": 0.865, "support": 800},
                                     "Good": {"precision": 0.86, "recall": 0.9, "f1": 0.88, "support": 400}}},
        "calibration": {"method": "Platt scaling per class, fitted on the validation weeks",
                        "raw": {"log_loss": 0.43, "ece": 0.03}, "calibrated": {"log_loss": 0.41, "ece": 0.01}},
        "gains": {"rows": 1500, "events": 300, "event_rate": figure(0.2, 0.02), "ks": 0.5625, "ks_band": 3,
                  "confidence": 0.95, "alpha": 0.05, "flagged_bands": [3],
                  "test": "Each band's event rate against the validation weeks' (two-proportion z-test at alpha 0.05): "
                          "band 3 differs.", "bands": bands},
        "segments": {"credit_mix": {"groups": {
            "Bad": {"rows": 400, "events": 200, "event_rate": figure(0.5, 0.05), "approval_rate": figure(0.45, 0.05),
                    "macro_f1": figure(0.78, 0.04), "auc": {"value": 0.9, "se": 0.01, "low": 0.88, "high": 0.92},
                    "training_rows": 7000, "psi": 0.31, "psi_critical": 0.04, "psi_moved": True},
            "<b>Good</b>": {"rows": 1100, "events": 100, "event_rate": figure(0.09, 0.02),
                            "approval_rate": figure(0.93, 0.02), "macro_f1": figure(0.81, 0.03),
                            "auc": {"value": 0.93, "se": 0.01, "low": 0.91, "high": 0.95},
                            "training_rows": 21000, "psi": 0.01, "psi_critical": 0.02, "psi_moved": False}}}},
        "fairness": {"column": "age_band", "band": [0.8, 1.25], "confidence": 0.95,
                     "overall": {"approval_rate": figure(0.8, 0.02), "fpr": figure(0.1, 0.02), "fnr": figure(0.3, 0.04)},
                     "groups": {
                         "<25": {"rows": 100, "approval_rate": figure(0.6, 0.09), "approval_ratio": figure(0.75, 0.1),
                                 "false_positive_rate": figure(0.12, 0.05), "false_negative_rate": figure(0.28, 0.1),
                                 "fpr_difference": 0.02, "fnr_difference": -0.02, "outside_band": True},
                         "25-60": {"rows": 1200, "approval_rate": figure(0.82, 0.02), "approval_ratio": figure(1.02, 0.03),
                                   "false_positive_rate": figure(0.1, 0.02), "false_negative_rate": figure(0.3, 0.04),
                                   "fpr_difference": 0.0, "fnr_difference": 0.0, "outside_band": False}},
                     "approval_ratio_between": 0.73, "equalized_odds_difference": 0.05, "groups_outside": ["<25"]},
        "challenger": {"serving_version": "6", "challenger": "lightgbm", "compared": True, "rows": 1400,
                       "challenger_score": 0.83, "serving_score": 0.80, "difference": 0.03,
                       "difference_interval": [0.01, 0.05], "p_value": 0.01, "passed": True,
                       "why": "lightgbm 0.830 vs serving version 6 0.800 on the same 1400 rows: better beyond chance"},
        "candidates": {"catboost": 0.82, "lightgbm": 0.83}, "winner": "lightgbm",
        "limits": ["Calibration was fitted on the pre-refit model's validation predictions.",
                   "Segments under 50 rows have wide intervals."],
        "libraries": {"lightgbm": "4.7.0", "catboost": "1.2.8", "scikit-learn": "1.7.1"},
    }


# ---------------------------------------------------------------- the page and the text, pure

def test_a_full_card_shows_every_section_and_its_key_figures():
    page = cards.html(full_card())
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert "<h1>Model card: credit-scoring version 7</h1>" in page
    for heading in SECTIONS:
        assert f"<h2>{heading}</h2>" in page, heading
    for shown in ("models:/credit-scoring/7", "ab12cd34ef56...", "2022-10-23 .. 2023-03-05", "28,500", "30,000",
                  "4 weeks", "annual_income", "num_iterations", "0.05", "Platt scaling per class",
                  "0.430 -&gt; 0.410", "0.030 -&gt; 0.010", "from 0.620", "below 0.120", "KS 0.562", "OUTSIDE",
                  "0.730", "+0.030<span class=\"ci\">[+0.010, +0.050]</span>", "better beyond chance", "Segments under 50 rows",
                  "scikit-learn", "1.2.8", "none: the most probable class is predicted"):
        assert shown in page, shown
    assert '0.830<span class="ci">[0.810, 0.850]</span>' in page  # macro F1 with its interval
    assert '0.940<span class="ci">[0.930, 0.950]</span>' in page  # AUC
    assert '<svg id="gains-chart"' in page and page.count("<g data-band=") == 5
    assert '<tr class="flag"><td class="text">&lt;25</td>' in page  # the group outside the band, highlighted
    assert '<tr class="chosen"><td class="text">lightgbm</td><td>0.830</td><td class="text">winner</td>' in page
    gains = re.search(r'<table id="gains-table">.*?</table>', page).group(0)
    assert gains.count("<tr") == 6 and gains.count('<tr class="flag">') == 1  # band 3, flagged


def test_the_card_reads_the_figures_as_weekly_lifecycle_writes_them():
    # fairness.compare names the overall rates as the groups' (false_positive_rate), and says
    # how the ratio's interval is made; gains.table adds the Holm-adjusted p-value
    card = full_card()
    overall = card["fairness"]["overall"]
    overall["false_positive_rate"], overall["false_negative_rate"] = overall.pop("fpr"), overall.pop("fnr")
    card["fairness"]["interval"] = "approval_ratio: group / overall approval rate; delta method"
    text = cards.text(card)
    assert re.search(r"overall false positive rate +10\.0 % \[8\.0, 12\.0\]", text)
    assert "Interval of the ratio: approval_ratio: group / overall approval rate; delta method" in text
    check = text.splitlines()[[i for i, line in enumerate(text.splitlines()) if "adjusted p-value" in line][0] + 3]
    assert check.split()[0] == "3" and check.split()[-2:] == ["0.020", "yes"]  # flagged on the adjusted p-value
    page = cards.html(card)
    segment = re.search(r'<table id="segment-credit-mix-psi">.*?</table>', page).group(0)
    assert '<tr class="flag"><td class="text">Bad</td>' in segment and "<th scope=\"col\">critical PSI</th>" in segment


def test_a_bare_card_renders_and_says_what_is_missing():
    page = cards.html(MINIMAL)
    assert "<h1>Model card: credit-scoring version 3</h1>" in page
    for heading in SECTIONS:
        assert f"<h2>{heading}</h2>" in page, heading
    assert page.count("not available") >= 10 and "gains-chart" not in page
    text = cards.text(MINIMAL)
    assert text.splitlines()[0] == "Model card: credit-scoring version 3" and "catboost" in text
    none = {**MINIMAL, **{key: None for key in full_card() if key not in MINIMAL}}
    page, text = cards.html(none), cards.text(none)
    assert "First model of the chain" in page and "none configured: no protected attribute" in page
    assert "First model of the chain" in text and "not available" in text


def test_a_card_with_broken_parts_still_renders():
    # a card.json someone edited: wrong types where figures should be
    broken = {**full_card(), "validation": {"macro_f1": "high", "auc": {"value": float("nan")}, "per_class": []},
              "gains": {"bands": [{"band": 1}, "junk"], "ks": "?"}, "candidates": {"lightgbm": None},
              "fairness": {"band": 0.8, "groups": {"x": None}}, "limits": "one caveat", "training": {"weeks": "many"}}
    page, text = cards.html(broken), cards.text(broken)
    assert "one caveat" in page and "many" in text and "high" in text


def test_the_page_is_offline_escaped_and_the_same_every_time():
    card = full_card()
    card["limits"] = [*card["limits"], "<script>alert(1)</script> https://example.org @import"]  # an edited file
    before = copy.deepcopy(card)
    page = cards.html(card)
    for offline in (cards.html(full_card()), cards.html(MINIMAL)):
        for fetched in ("<script", "http://", "https://", "@import", "src=", "url(", "<link", "<img"):
            assert fetched not in offline, fetched
    assert "&lt;b&gt;Good&lt;/b&gt;" in page and "<b>Good</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; https://example.org @import" in page  # shown as text
    assert "<script" not in page
    assert cards.html(card) == page and cards.text(card) == cards.text(card)
    assert card == before  # the card is not changed


def test_the_text_is_the_same_content_aligned():
    text = cards.text(full_card())
    lines = text.splitlines()
    assert lines[:2] == ["Model card: credit-scoring version 7", "=" * 36]
    for heading in SECTIONS:
        assert heading in lines and lines[lines.index(heading) + 1] == "-" * len(heading), heading
    assert "  macro F1                     0.830 [0.810, 0.850]" in lines
    assert "  calibration error (ECE), raw -> calibrated  0.030 -> 0.010" in lines
    header = next(line for line in lines if re.match(r"  band +scores +rows", line))
    rows = lines[lines.index(header) + 1:lines.index(header) + 6]
    assert [row.split()[0] for row in rows] == ["1", "2", "3", "4", "5"]
    assert len({len(row) for row in [header, *rows]}) == 1  # right-aligned columns end together
    assert "  Poor (adverse)" in text and "  lightgbm   " in text and "winner" in text
    assert "  <25  " in text and "OUTSIDE" in text
    assert "<svg" not in text and max(map(len, lines)) <= 130


# ---------------------------------------------------------------- the page as a reviewer sees it

def distinct_colours(png: bytes) -> int:
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return len({colour for _, colour in image.getcolors(maxcolors=1 << 24)})


def test_the_card_draws_in_headless_chromium_offline(tmp_path):
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "card.html"
    page_file.write_text(cards.html(full_card()))
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors, fetched = [], []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: fetched.append(request.url))
            page.goto(page_file.as_uri(), wait_until="load")
            assert errors == [] and fetched == [page_file.as_uri()]  # nothing fetched but the page
            seen = page.evaluate("document.body.innerText")
            assert "Model card: credit-scoring version 7" in seen
            assert "Gains table" in seen and "from 0.620" in seen and "<b>Good</b>" in seen  # the name, as text
            rows = page.eval_on_selector_all("#gains-table tbody tr", "els => els.map(e => e.innerText.split('\\t')[0])")
            assert rows == ["1", "2", "3", "4", "5"]
            chart = page.locator("svg#gains-chart").bounding_box()
            assert chart and chart["width"] > 800 and chart["height"] > 250
            bars = page.eval_on_selector_all("svg#gains-chart [data-band] rect",
                                             "els => els.map(e => e.getBBox().height)")
            assert len(bars) == 5 and all(h > 0 for h in bars) and bars == sorted(bars, reverse=True)
            outside = page.eval_on_selector_all(  # every word of the chart inside it
                "svg#gains-chart text",
                "els => { const c = els[0].ownerSVGElement.getBoundingClientRect(); return els.filter(e => {"
                " const b = e.getBoundingClientRect(); return b.width === 0 || b.left < c.left - 0.5"
                " || b.right > c.right + 0.5 || b.top < c.top || b.bottom > c.bottom; }).map(e => e.textContent); }")
            assert outside == []
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 1200  # nothing pushes the page sideways
            png = page.screenshot(path=str(artifacts / "model-card.png"), full_page=True)
            page.emulate_media(media="print")
            page.screenshot(path=str(artifacts / "model-card-print.png"), full_page=True)
        finally:
            browser.close()
    assert distinct_colours(png) > 20  # not a blank page
    assert (artifacts / "model-card.png").stat().st_size > 30_000


# ---------------------------------------------------------------- `weekly card VERSION`

def tracker(root, week: str, version: int, model_week: str, retrained: bool) -> None:
    folder = root / "weeks" / week
    folder.mkdir(parents=True)
    (folder / "tracker.json").write_text(json.dumps({
        "week": week, "model_version": version, "retrained": retrained,
        "model_path": f"models/{model_week}/winner/model.txt"}))


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Three weeks: version 6 registered on the first, version 7 on the third (with its
    card); version 6 has no card (a store from before cards)."""
    tracker(tmp_path, "2023-02-26", 6, "2023-02-26", True)
    tracker(tmp_path, "2023-03-05", 6, "2023-02-26", False)
    tracker(tmp_path, "2023-03-12", 7, "2023-03-12", True)
    folder = tmp_path / "models" / "2023-03-12" / "winner"
    folder.mkdir(parents=True)
    card = full_card()
    (folder / "card.json").write_text(json.dumps(card))
    (folder / "card.html").write_text(cards.html(card))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def weekly(capsys, *args) -> tuple[int, str, str]:
    status = main(["card", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_weekly_card_prints_the_card(project, capsys):
    status, out, err = weekly(capsys, "7")
    assert status == 0 and err == ""
    assert out == cards.text(full_card()) + "\n"
    assert weekly(capsys, "champion")[1] == out  # the newest week's version


def test_weekly_card_html_and_open_give_the_page(project, capsys, monkeypatch):
    status, out, _ = weekly(capsys, "7", "--html")
    assert status == 0 and out == "models/2023-03-12/winner/card.html\n"
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda uri: opened.append(uri) or True)
    status, out, _ = weekly(capsys, "champion", "--open")
    assert status == 0 and out == "models/2023-03-12/winner/card.html\n"
    assert opened == [(project / "models/2023-03-12/winner/card.html").as_uri()]
    answer = json.loads(weekly(capsys, "7", "--json")[1])
    assert answer["version"] == "7" and answer["week"] == "2023-03-12" and answer["card"]["winner"] == "lightgbm"


@pytest.mark.parametrize("version, message", [
    ("9", "weekly card: error: no week's tracker names version 9 (versions here: 6, 7)"),
    ("6", ("weekly card: error: version 6 has no model card (models/2023-02-26/winner/card.json is missing): cards "
           "are written when a version registers")),
    ("seven", "weekly card: error: 'seven' is not a version: give a registered version's number, or champion"),
])
def test_weekly_card_fails_in_one_line(project, capsys, version, message):
    status, out, err = weekly(capsys, version)
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(message)


def test_weekly_card_without_weeks_or_with_a_broken_card(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, _, err = weekly(capsys, "champion")
    assert status == 1 and err.startswith("weekly card: error: no week has run here")
    tracker(tmp_path, "2023-03-12", 7, "2023-03-12", True)
    folder = tmp_path / "models/2023-03-12/winner"
    folder.mkdir(parents=True)
    (folder / "card.json").write_text("{not json")
    status, _, err = weekly(capsys, "7")
    assert status == 1 and "models/2023-03-12/winner/card.json is not a card" in err
    (folder / "card.json").write_text(json.dumps({**full_card(), "version": "6"}))
    status, _, err = weekly(capsys, "7")
    assert status == 1 and "card.json is the card of version 6, not of version 7" in err
    (folder / "card.json").write_text(json.dumps(full_card()))
    status, _, err = weekly(capsys, "7", "--html")  # card.json but no card.html
    assert status == 1 and "models/2023-03-12/winner/card.html is missing" in err
