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

    from weekly.modelling.algorithms import ALGORITHMS

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

    from weekly.lifecycle.weeks import chain

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


# Kinds of bad params.yaml, each one line naming the file and the key (issue 23). With the
# kinds above, the YAML ones below and those of test_bad_input.py: more than 57.
NAN, INF = float("nan"), float("inf")
BAD_PARAMS = {
    # NaN and infinity, anywhere (YAML .nan, .inf, -.inf): they pass every minimum and maximum
    "nan-floor": ({"retrain": {"performance": {"floor": NAN}}}, "retrain.performance.floor", "NaN is not a number"),
    "nan-margin": ({"train": {"challenger": {"margin": NAN}}}, "train.challenger.margin", "NaN is not a number"),
    "inf-max-drop": ({"retrain": {"performance": {"max_drop": INF}}}, "retrain.performance.max_drop", "infinity"),
    "minus-inf-margin": ({"train": {"challenger": {"margin": -INF}}}, "train.challenger.margin", "-infinity"),
    "nan-seed": ({"seed": NAN}, "seed", "NaN"),
    "nan-alert-floor": ({"alerts": {"conditions": {"performance": {"floor": NAN}}}},
                        "alerts.conditions.performance.floor", "NaN"),
    "nan-event-rate": ({"data": {"generator": {"event_rate": NAN}}}, "data.generator.event_rate", "NaN"),
    "inf-learning-rate": ({"train": {"lightgbm": {"learning_rate": INF}}}, "train.lightgbm.learning_rate", "infinity"),
    "inf-timeout": ({"alerts": {"channels": {"timeout_seconds": INF}}}, "alerts.channels.timeout_seconds", "infinity"),
    "nan-range": ({"data": {"ranges": {"age": {"min": NAN}}}}, "data.ranges.age.min", "NaN"),
    # lower bounds
    "seed-negative": ({"seed": -1}, "seed", "less than the minimum of 0"),
    "max-days-zero": ({"retrain": {"time": {"max_days": 0}}}, "retrain.time.max_days", "minimum"),
    "resamples-few": ({"evaluate": {"resamples": 10}}, "evaluate.resamples", "minimum of 50"),
    "evaluate-min-rows-zero": ({"evaluate": {"min_rows": 0}}, "evaluate.min_rows", "minimum"),
    "catboost-no-iterations": ({"train": {"catboost": {"iterations": 0}}}, "train.catboost.iterations", "minimum"),
    "feature-fraction-zero": ({"train": {"lightgbm": {"feature_fraction": 0}}}, "train.lightgbm.feature_fraction",
                              "less than or equal to the minimum"),
    "half-life-negative": ({"train": {"recency_half_life_weeks": -1}}, "train.recency_half_life_weeks", "minimum"),
    # upper bounds: no count or window plans a hundred thousand jobs
    "seed-huge": ({"seed": 2**40}, "seed", "maximum"),
    "window-weeks-huge": ({"train": {"window_weeks": 100000}}, "train.window_weeks", "maximum of 520"),
    "max-window-weeks-huge": ({"train": {"max_window_weeks": 100000}}, "train.max_window_weeks", "maximum of 520"),
    "valid-weeks-huge": ({"train": {"valid_weeks": 1000}}, "train.valid_weeks", "maximum"),
    "rows-per-week-huge": ({"data": {"rows_per_week": 10**9}}, "data.rows_per_week", "maximum"),
    "label-delay-huge": ({"data": {"label_delay_weeks": 1000}}, "data.label_delay_weeks", "maximum"),
    "resamples-huge": ({"evaluate": {"resamples": 10**7}}, "evaluate.resamples", "maximum of 100000"),
    "evidence-weeks-huge": ({"evaluate": {"max_weeks": 100000}}, "evaluate.max_weeks", "maximum"),
    "lightgbm-rounds-huge": ({"train": {"lightgbm": {"num_iterations": 10**7}}}, "train.lightgbm.num_iterations",
                             "maximum"),
    "hgb-rounds-huge": ({"train": {"hist_gradient_boosting": {"max_iter": 10**7}}},
                        "train.hist_gradient_boosting.max_iter", "maximum"),
    "one-hot-huge": ({"train": {"catboost": {"one_hot_max_size": 1000}}}, "train.catboost.one_hot_max_size", "maximum"),
    "learning-rate-above-one": ({"train": {"lightgbm": {"learning_rate": 5}}}, "train.lightgbm.learning_rate",
                                "maximum"),
    "l2-huge": ({"train": {"hist_gradient_boosting": {"l2_regularization": 1e6}}},
                "train.hist_gradient_boosting.l2_regularization", "maximum"),
    "max-days-huge": ({"retrain": {"time": {"max_days": 10**6}}}, "retrain.time.max_days", "maximum"),
    "psi-threshold-huge": ({"retrain": {"drift": {"threshold": 100}}}, "retrain.drift.threshold", "maximum"),
    "drift-rows-huge": ({"retrain": {"drift": {"min_rows": 10**9}}}, "retrain.drift.min_rows", "maximum"),
    "min-features-above-features": ({"retrain": {"drift": {"min_features": 50}}}, "retrain.drift.min_features",
                                    "more than the 20 feature(s)"),
    "margin-above-one": ({"train": {"challenger": {"margin": 2}}}, "train.challenger.margin", "maximum"),
    "event-rate-above-one": ({"train": {"threshold": {"method": "event_rate", "event_rate": 1.5}}},
                             "train.threshold.event_rate", "maximum"),
    "timeout-huge": ({"alerts": {"channels": {"timeout_seconds": 3600}}}, "alerts.channels.timeout_seconds", "maximum"),
    "retries-huge": ({"alerts": {"channels": {"retries": 100}}}, "alerts.channels.retries", "maximum"),
    "smtp-port": ({"alerts": {"channels": {"email": {"port": 70000}}}}, "alerts.channels.email.port", "maximum"),
    "chain-of-centuries": ({"end": "2222-01-16", "week": "2022-01-16"}, "end", "more than the 1040"),
    # the tracking store: one MLflow takes, refused before any fit (and never quoted: it may hold a password)
    "tracking-ftp": ({"registry": {"tracking_uri": "ftp://user:secret@host/store"}}, "registry.tracking_uri",
                     "scheme 'ftp'"),
    "tracking-no-scheme": ({"registry": {"tracking_uri": "mlruns"}}, "registry.tracking_uri", "without a scheme"),
    "tracking-in-memory": ({"registry": {"tracking_uri": "sqlite://"}}, "registry.tracking_uri", "scheme 'sqlite'"),
    "tracking-no-host": ({"registry": {"tracking_uri": "http://"}}, "registry.tracking_uri", "scheme 'http'"),
    # columns the embedded generator does not make (data.generate is true)
    "generator-numeric": ({"data": {"columns": {"numeric": ["age", "salary"]}}}, "data.columns.numeric",
                          "'salary' not made by the embedded generator"),
    "generator-categorical": ({"data": {"columns": {"categorical": ["region"]}}}, "data.columns.categorical",
                              "it makes categorical occupation, credit_mix"),
    "generator-wrong-role": ({"data": {"columns": {"numeric": ["age", "occupation"], "categorical": ["credit_mix"]}}},
                             "data.columns.numeric", "'occupation'"),
    "generator-id": ({"data": {"columns": {"id": "loan_id"}}}, "data.columns.id", "'application_id'"),
    "generator-target": ({"data": {"columns": {"target": "defaulted"}}}, "data.columns.target", "'credit_score'"),
    # plausible ranges
    "range-unknown-feature": ({"data": {"ranges": {"agee": {"min": 18}}}}, "data.ranges.agee", "not a numeric feature"),
    "range-of-categorical": ({"data": {"ranges": {"occupation": {"max": 3}}}}, "data.ranges.occupation",
                             "not a numeric feature"),
    "range-upside-down": ({"data": {"ranges": {"age": {"min": 100, "max": 18}}}}, "data.ranges.age",
                          "min (100) is above max (18)"),
    "range-empty": ({"data": {"ranges": {"age": {}}}}, "data.ranges.age", "non-empty"),
    "range-unknown-bound": ({"data": {"ranges": {"age": {"low": 18}}}}, "data.ranges.age", "'low' was unexpected"),
    "range-text": ({"data": {"ranges": {"age": {"min": "eighteen"}}}}, "data.ranges.age.min", "not of type 'number'"),
    # keys that would make Snakemake run the file's expressions (YTE), at any level
    "yte-top": ({"__use_yte__": True}, "__use_yte__", "YTE"),
    "yte-nested": ({"train": {"lightgbm": {"__use_yte__": True}}}, "train.lightgbm.__use_yte__", "YTE"),
    "yte-definitions": ({"__definitions__": ["import os"]}, "__definitions__", "YTE"),
    # wrong shapes that once reached Python before the schema
    "data-not-a-mapping": ({"data": 5}, "data", "not of type 'object'"),
    "classes-not-a-list": ({"data": {"columns": {"classes": 5}}}, "data.columns.classes", "not of type 'array'"),
    "generate-as-text": ({"data": {"generate": "yes"}}, "data.generate", "not of type 'boolean'"),
}


@pytest.mark.parametrize("raw, key, words", BAD_PARAMS.values(), ids=BAD_PARAMS.keys())
def test_every_bad_param_is_one_line_naming_the_file_and_the_key(raw, key, words):
    with pytest.raises(ConfigError) as err:
        validate_params(raw)
    message = str(err.value)
    assert message.startswith("params.yaml: ") and "\n" not in message, message
    assert f"'{key}'" in message and words in message, message
    assert "secret" not in message  # a URI's password is never quoted


@pytest.mark.parametrize("text, words", [
    ("retrain:\n  performance:\n    floor: .nan\n", "key 'retrain.performance.floor': NaN is not a number"),
    ("train:\n  challenger:\n    margin: .inf\n", "key 'train.challenger.margin': infinity is not a number"),
    ("train:\n  challenger:\n    margin: -.inf\n", "key 'train.challenger.margin': -infinity is not a number"),
    ("__use_yte__: true\nseed: ?__import__('os').getpid()\n", "key '__use_yte__': Snakemake would run"),
    ("data:\n  columns:\n    numeric:\n    - age\n    - __use_yte__: true\n",
     "key 'data.columns.numeric.1.__use_yte__'"),
    ("- seed\n- 42\n", "expected a mapping of keys, got list"),
], ids=["yaml-nan", "yaml-inf", "yaml-minus-inf", "yaml-yte", "yaml-yte-in-a-list", "yaml-list"])
def test_bad_yaml_values_are_one_line_naming_the_file_and_the_key(tmp_path, text, words):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_params(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)
    assert words in str(err.value)


def test_a_python_tag_is_not_valid_yaml_and_runs_nothing(tmp_path):
    # what Snakemake's own loader would construct; the Snakefile reads the file safely first
    path = tmp_path / "params.yaml"
    path.write_text(f"seed: !!python/object/apply:os.system ['touch {tmp_path / 'ran'}']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(path)
    assert not (tmp_path / "ran").exists()


def test_read_yaml_refuses_a_template_before_snakemake_reads_it(tmp_path):
    # the Snakefile calls read_yaml("params.yaml") above `configfile:`
    from weekly.config import read_yaml

    path = tmp_path / "params.yaml"
    path.write_text("seed: 42\n__use_yte__: true\n")
    with pytest.raises(ConfigError, match=r"params.yaml: key '__use_yte__': Snakemake would run"):
        read_yaml(path)
    path.write_text("seed: 42\nyte_note: __use_yte__ in a value is text\n")
    assert read_yaml(path)["yte_note"].startswith("__use_yte__")


@pytest.mark.parametrize("uri", [
    "sqlite:///mlflow.db", "sqlite:////abs/mlflow.db", "http://127.0.0.1:5000", "https://mlflow.example.com/",
    "https://user:pw@mlflow.example.com", "file:///srv/mlruns", "file:mlruns", "postgresql://u:p@db:5432/mlflow",
    "postgresql+psycopg2://db/mlflow", "mysql+pymysql://db/mlflow", "mssql://db/mlflow",
])
def test_tracking_stores_mlflow_takes_pass(uri):
    assert validate_params({"registry": {"tracking_uri": uri}})["registry"]["tracking_uri"] == uri


def test_bounds_admit_a_large_portfolio_and_the_generators_columns_in_part():
    params = validate_params({
        "start": "2005-01-30", "end": "2024-12-29", "week": "2024-12-29",  # 1040 weeks: the most a chain holds
        "seed": 2**31 - 1,
        "data": {"rows_per_week": 5_000_000, "label_delay_weeks": 52, "ranges": {"age": {"min": 18, "max": 100}},
                 "columns": {"numeric": ["age", "annual_income"], "categorical": ["occupation"]}},
        "train": {"window_weeks": 520, "max_window_weeks": 520, "valid_weeks": 26, "challenger": {"margin": -0.01}},
        "evaluate": {"resamples": 100_000, "max_weeks": 520},
    })
    assert params["data"]["ranges"] == {"age": {"min": 18, "max": 100}}
    with pytest.raises(ConfigError, match=r"'start'..'end' \(2005-01-23..2024-12-29\) holds 1041 weeks"):
        validate_params({"start": "2005-01-23", "end": "2024-12-29", "week": "2024-12-29"})
    # your own data (data.generate false) may name any column
    own = validate_params({"data": {"generate": False, "columns": {"id": "loan_id", "numeric": ["income"],
                                                                   "categorical": ["region"]},
                                    "ranges": {"income": {"min": 0}}}})
    assert own["data"]["columns"]["numeric"] == ["income"]
    assert validate_params({})["data"]["ranges"] == {}


@pytest.mark.parametrize("segments,protected,said", [
    ({"credit_mix": [1, 2]}, None, "a categorical column takes no band edges"),
    ({"age": [50, 25]}, None, "must ascend"),
    ({"credit_score": None}, None, "the id, date or label is no segment"),
    ({}, "application_id", "the id, date or label is no protected attribute"),
    ({"gender": None}, None, "not made by the embedded generator"),
])
def test_segments_are_checked(segments, protected, said):
    with pytest.raises(ConfigError, match=said):
        validate_params({"data": {"columns": {"segments": segments, "protected": protected}}})


def test_a_carried_segment_is_an_application_column_never_a_feature():
    from weekly.inputs.data import application_columns, carried_names, feature_names

    params = validate_params({"data": {"generate": False, "columns": {
        "numeric": ["income"], "categorical": ["region"], "segments": {"region": None, "age": [25, 50]},
        "protected": "gender"}}})
    cols = params["data"]["columns"]
    assert carried_names(cols) == ["age", "gender"] and feature_names(cols) == ["income", "region"]
    assert application_columns(cols)[-2:] == ["age", "gender"]
