import datetime as dt

import pytest
import yaml

from weekly.config import ConfigError, load_params, validate_params


def test_defaults_fill_every_section():
    params = validate_params({})
    assert params["retrain"]["time"] == {"enabled": True, "max_days": 90}
    assert params["train"]["models"] == ["lightgbm", "catboost"]
    assert params["data"]["columns"]["classes"] == ["Poor", "Standard", "Good"]
    assert params["registry"]["alias"] == "champion"


def test_project_params_file_is_valid(repo_root):
    params = load_params(repo_root / "params.yaml")
    assert params["start"] == "2022-01-16" and params["end"] == "2024-12-29"


def test_unquoted_yaml_dates_are_accepted():
    params = validate_params({"start": dt.date(2022, 1, 16), "end": dt.date(2022, 3, 6), "week": dt.date(2022, 3, 6)})
    assert params["end"] == "2022-03-06"


@pytest.mark.parametrize(
    "raw, words",
    [
        ({"retrian": {}}, ["retrian", "(top level)"]),
        ({"retrain": {"time": {"max_dayz": 3}}}, ["retrain.time", "max_dayz"]),
        ({"retrain": {"time": {"max_days": "ninety"}}}, ["retrain.time.max_days", "'ninety'"]),
        ({"train": {"models": ["xgboost"]}}, ["train.models.0", "xgboost", "lightgbm", "hist_gradient_boosting"]),
        ({"seed": 1.5}, ["seed"]),
        ({"start": "2022-13-01"}, ["start", "2022-13-01"]),
        ({"end": "2022-01-20"}, ["end", "whole number of weeks"]),
        ({"end": "2021-01-17"}, ["end", "before"]),
        ({"week": "2025-01-05"}, ["week", "outside"]),
        ({"train": {"window_weeks": 4, "valid_weeks": 4}}, ["valid_weeks", "smaller"]),
        ({"data": {"columns": {"numeric": ["credit_score"]}}}, ["credit_score", "more than one role"]),
    ],
)
def test_bad_params_name_the_key(raw, words):
    with pytest.raises(ConfigError) as err:
        validate_params(raw, "params.yaml")
    message = str(err.value)
    assert message.startswith("params.yaml")
    for word in words:
        assert word in message


def test_load_params_reports_unreadable_yaml(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("start: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(path)


def test_a_yaml_mistake_is_quoted_with_its_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("start: 2022-01-16\ntrain:\n\twindow_weeks: 20\n")  # a tab indents
    with pytest.raises(ConfigError) as err:
        load_params(path)
    assert "found character '\\t'" in str(err.value) and "line 3" in str(err.value)
    assert "\twindow_weeks: 20" in str(err.value)


def test_load_params_reports_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_params(tmp_path / "nope.yaml")


def test_schema_gives_every_key_a_type_description_and_default():
    from importlib import resources

    schema = yaml.safe_load(resources.files("weekly").joinpath("schemas/params.schema.yaml").read_text())

    def walk(node, path):
        for name, sub in node.get("properties", {}).items():
            where = f"{path}.{name}"
            assert "description" in sub, where
            assert "default" in sub, where
            assert "type" in sub or "enum" in sub, where
            walk(sub, where)

    walk(schema, "params")


def test_the_schema_knows_exactly_the_adapters(repo_root):
    # An algorithm is usable when it has an adapter, a place in train.models and a
    # hyperparameter section, in the schema and in the project's params.yaml.
    from importlib import resources

    from weekly.algorithms import ALGORITHMS

    schema = yaml.safe_load(resources.files("weekly").joinpath("schemas/params.schema.yaml").read_text())
    train = schema["properties"]["train"]["properties"]
    assert train["models"]["items"]["enum"] == list(ALGORITHMS)
    assert set(ALGORITHMS) <= set(train)
    defaults = validate_params({})["train"]
    project = yaml.safe_load((repo_root / "params.yaml").read_text())["train"]
    for algo in ALGORITHMS:
        assert defaults[algo] == project[algo], algo


def test_week_follows_an_earlier_end_when_asked():
    # What the Snakefile asks for when `--config end=...` comes without `week=`.
    params = validate_params({"end": "2022-03-06"}, week_follows_end=True)
    assert (params["end"], params["week"]) == ("2022-03-06", "2022-03-06")
    earlier = validate_params({"end": "2022-03-06", "week": "2022-02-06"}, week_follows_end=True)
    assert earlier["week"] == "2022-02-06"  # a week already in the chain stays
    with pytest.raises(ConfigError, match="'week' .* outside"):  # params.yaml itself must agree
        validate_params({"end": "2022-03-06"})
    with pytest.raises(ConfigError, match="'week' .*whole number of weeks"):  # a bad week is still refused
        validate_params({"end": "2022-03-06", "week": "2024-12-30"}, week_follows_end=True)


def test_snakemake_takes_end_alone_but_not_a_week_after_it(tmp_path):
    from helpers import make_project, snakemake

    root = make_project(tmp_path / "end")  # week = end = 2022-03-06
    alone = snakemake(root, "-n", "all_weeks", "--config", "end=2022-02-06")
    assert "weeks/2022-02-06/preds.parquet" in alone.stdout
    assert "weeks/2022-02-13/preds.parquet" not in alone.stdout
    both = snakemake(root, "-n", "all_weeks", "--config", "end=2022-02-06", "week=2022-03-06", check=False)
    assert both.returncode != 0 and "'week' (2022-03-06) is outside start..end" in both.stdout + both.stderr


def test_week_counts_in_the_comments_are_the_chains(repo_root):
    # "155 weeks": the comments of params.yaml and the Snakefile name the default chain's length.
    import re

    from weekly.weeks import chain

    params = load_params(repo_root / "params.yaml")
    length = len(chain(params["start"], params["end"]))
    assert length == 155
    for name in ("params.yaml", "Snakefile"):
        counts = [int(n) for n in re.findall(r"\b(\d{3,})[ -]weeks?\b", (repo_root / name).read_text())]
        assert counts and set(counts) == {length}, (name, counts)


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    (tmp_path / "params.yaml").write_text("seed: 1\ntrain:\n  window_weeks: 20\n  window_weeks: 30\n")
    with pytest.raises(ConfigError, match=r"params.yaml: key 'window_weeks' is given twice \(lines 3 and 4\)"):
        load_params(tmp_path / "params.yaml")


@pytest.mark.parametrize("key, value", [
    ("model_name", "credit's"), ("model_name", "a/b"), ("alias", "latest"), ("alias", "v3"), ("alias", "two words"),
    ("experiment", 'say "hi"'),
])
def test_registry_names_mlflow_would_refuse_or_misread_are_refused(key, value):
    with pytest.raises(ConfigError, match=f"registry.{key}"):
        validate_params({"registry": {key: value}})


def test_registry_names_mlflow_accepts_pass():
    params = validate_params({"registry": {"model_name": "credit-scoring.v2_eu", "alias": "champion-policy-every-60d"}})
    assert params["registry"]["alias"] == "champion-policy-every-60d"


@pytest.mark.parametrize("raw, words", [
    ({"data": {"generator": {"event_rate": 0.03}}}, "data.generate is true and it makes a binary portfolio"),
    ({"data": {"columns": {"classes": ["No", "Yes"]}}}, "data.generate is true and it makes three classes"),
    ({"train": {"threshold": {"method": "event_rate"}}}, "'train.threshold.event_rate' must be set"),
    ({"train": {"max_window_weeks": 10}}, "'train.max_window_weeks' (10) must be at least 'train.window_weeks' (20)"),
    ({"retrain": {"drift": {"alpha": 0}}}, "retrain.drift.alpha"),
    ({"evaluate": {"confidence": 1.0}}, "evaluate.confidence"),
    ({"data": {"generator": {"event_rate": 0.7}, "columns": {"classes": ["No", "Yes"]}}}, "data.generator.event_rate"),
])
def test_evidence_and_generator_settings_are_checked(raw, words):
    with pytest.raises(ConfigError) as err:
        validate_params(raw)
    assert words in str(err.value)


def test_a_binary_rare_event_portfolio_and_a_null_floor_are_valid():
    params = validate_params({"data": {"columns": {"classes": ["No", "Yes"]}, "generator": {"event_rate": 0.03}},
                              "retrain": {"performance": {"floor": None}}})
    assert params["data"]["generator"] == {"drift": True, "event_rate": 0.03}
    assert params["retrain"]["performance"]["floor"] is None and params["evaluate"]["min_class_rows"] == 10
