"""Load and validate `params.yaml`: one schema, every key typed, described and defaulted."""
from __future__ import annotations

import copy
import datetime as dt
import functools
import math
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from weekly.errors import WeeklyError


class ConfigError(WeeklyError):
    """A bad `params.yaml`: the message names the file and the key."""


# libyaml's parser when PyYAML has it (its wheels do): several times faster than PyYAML's own.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _schema() -> dict:
    text = resources.files("weekly").joinpath("schemas/params.schema.yaml").read_text()
    return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 (a safe loader)


def _with_defaults(validator_class):
    """A validator that fills each missing property with its schema default before checking it."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def _dates_to_iso(value: Any) -> Any:
    # YAML (and `dvc exp run -S start=2022-01-16`) turn unquoted dates into date objects.
    if isinstance(value, dict):
        return {k: _dates_to_iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_to_iso(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# Keys that make Snakemake's config loader (`configfile:`) run the file as a YTE template, its
# `?...` values as Python expressions: a parameters file holds data, never code.
TEMPLATE_KEYS = ("__use_yte__", "__definitions__", "__variables__")
MAX_CHAIN_WEEKS = 1040  # start..end: twenty years of weeks; a typo'd date must not plan 100,000 jobs


def _walk(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (key path, value) of a nested mapping, parents first; a container met again
    (a YAML alias) is walked once."""
    seen: set[int] = set()
    stack = [(path, value)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, (dict, list)) and id(value) not in seen:
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend(reversed([((*path, k), v) for k, v in items]))


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def refuse_templates(raw: Any, source: str) -> None:
    """Refuse a key that makes Snakemake run the file's expressions as Python (YTE's
    `__use_yte__`, at any level): one line naming the file and the key."""
    for path, _ in _walk(raw):
        if path and path[-1] in TEMPLATE_KEYS:
            raise ConfigError(
                f"{source}: key '{_dotted(path)}': Snakemake would run this file's expressions as Python (YTE "
                "templates); a parameters file holds data only: remove the key"
            )


def _refuse_non_finite(params: dict, source: str) -> None:
    # YAML's .nan, .inf and -.inf pass every `minimum`/`maximum` of a schema (NaN compares false).
    for path, value in _walk(params):
        if isinstance(value, float) and not math.isfinite(value):
            name = "NaN" if math.isnan(value) else "infinity" if value > 0 else "-infinity"
            raise ConfigError(f"{source}: key '{_dotted(path)}': {name} is not a number this file may hold")


def _section(params: Any, *keys: str) -> Any:
    # A nested key before the schema has checked the types on the way (None when absent).
    for key in keys:
        params = params.get(key) if isinstance(params, dict) else None
    return params


def _check_tracking_uri(params: dict, source: str) -> None:
    # Before the schema, whose message would quote the URI, and a URI may hold a password.
    uri = _section(params, "registry", "tracking_uri")
    pattern = _schema()["properties"]["registry"]["properties"]["tracking_uri"]["pattern"]
    if isinstance(uri, str) and not re.fullmatch(pattern, uri):
        scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*(?=:)", uri)
        what = f"a URI of scheme '{scheme.group()}'" if scheme else "a value without a scheme"
        raise ConfigError(
            f"{source}: key 'registry.tracking_uri': {what} is not a tracking store MLflow accepts; give "
            "sqlite:///<file>, http(s)://<server>, file:<folder> or a database (postgresql://, mysql://, mssql://)"
        )


def _check_generated_columns(params: dict, source: str) -> None:
    # The embedded generator makes the schema's default columns (tests/test_generate.py holds
    # them to weekly.inputs.generate.DEFAULT_COLUMNS, which this module does not import: pandas).
    made = {k: v["default"] for k, v in _schema()["properties"]["data"]["properties"]["columns"]["properties"].items()}
    cols = params["data"]["columns"]
    for role in ("id", "date", "target"):
        if cols[role] != made[role]:
            raise ConfigError(
                f"{source}: key 'data.columns.{role}': {cols[role]!r} is not the column the embedded generator makes "
                f"(data.generate is true): it is {made[role]!r}; set data.generate: false to bring your own data"
            )
    segments = [*cols["segments"], *([cols["protected"]] if cols["protected"] else [])]
    unmade = [c for c in segments if c not in made["numeric"] + made["categorical"]]
    if unmade:
        raise ConfigError(
            f"{source}: key 'data.columns.segments': column(s) {', '.join(map(repr, unmade))} not made by the embedded "
            "generator (data.generate is true); set data.generate: false to bring your own data"
        )
    for role in ("numeric", "categorical"):
        unknown = [c for c in cols[role] if c not in made[role]]
        if unknown:
            raise ConfigError(
                f"{source}: key 'data.columns.{role}': column(s) {', '.join(map(repr, unknown))} not made by the "
                f"embedded generator (data.generate is true); it makes {role} {', '.join(made[role])}; set "
                "data.generate: false to bring your own data"
            )


def _check_segments(cols: dict, source: str) -> None:
    """A segment is no id, date or label; band edges ascend and cut a number, never a categorical."""
    for name, edges in cols["segments"].items():
        if name in (cols["id"], cols["date"], cols["target"]):
            raise ConfigError(f"{source}: key 'data.columns.segments.{name}': the id, date or label is no segment")
        if edges is None:
            continue
        if name in cols["categorical"]:
            raise ConfigError(f"{source}: key 'data.columns.segments.{name}': a categorical column takes no band edges "
                              "(leave it empty: one group per value)")
        if any(b <= a for a, b in zip(edges, edges[1:])):
            raise ConfigError(f"{source}: key 'data.columns.segments.{name}': band edges {edges} must ascend")
    if cols["protected"] in (cols["id"], cols["date"], cols["target"]):
        raise ConfigError(f"{source}: key 'data.columns.protected': the id, date or label is no protected attribute")


def _check_ranges(params: dict, source: str) -> None:
    numeric = params["data"]["columns"]["numeric"]
    for name, bounds in params["data"]["ranges"].items():
        if name not in numeric:
            raise ConfigError(
                f"{source}: key 'data.ranges.{name}': not a numeric feature of data.columns.numeric "
                f"({', '.join(numeric)})"
            )
        if bounds.get("min", -math.inf) > bounds.get("max", math.inf):
            raise ConfigError(
                f"{source}: key 'data.ranges.{name}': min ({bounds['min']}) is above max ({bounds['max']})"
            )


def _parse_date(params: dict, key: str, source: str) -> dt.date:
    try:
        return dt.date.fromisoformat(params[key])
    except ValueError:
        raise ConfigError(f"{source}: '{key}' is {params[key]!r}, not an ISO date (YYYY-MM-DD)") from None


def validate_params(raw: dict | None, source: str = "params.yaml", *, week_follows_end: bool = False) -> dict:
    """Return a validated copy of the parameters with every default filled in.

    Raises ConfigError naming the file and the offending key on an unknown key, a wrong
    type, a number out of its bounds, NaN or infinity anywhere, a template key
    (`__use_yte__`), a date that is not a week of the chain, a chain longer than
    MAX_CHAIN_WEEKS, a tracking store MLflow does not take, inconsistent column roles or,
    with data.generate, a column the embedded generator does not make.
    With `week_follows_end`, a `week` after `end` becomes `end` instead of an error: a
    Snakemake run given only `--config end=...` stops the chain there, and `week` (the
    week `dvc repro` builds, which no rule reads) moves with it.
    """
    params = _dates_to_iso(copy.deepcopy(raw or {}))
    refuse_templates(params, source)
    _refuse_non_finite(params, source)
    classes = _section(params, "data", "columns", "classes")
    if isinstance(classes, list) and any(isinstance(c, bool) for c in classes):
        raise ConfigError(
            f"{source}: key 'data.columns.classes': {classes} holds booleans: YAML reads unquoted "
            "No/Yes/on/off/true/false as booleans; quote the labels, e.g. classes: ['No', 'Yes']"
        )
    _check_tracking_uri(params, source)
    errors = sorted(_Validator(_schema()).iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(f"{source}: key '{where}': {err.message}")

    start, end, week = (_parse_date(params, k, source) for k in ("start", "end", "week"))
    if end < start:
        raise ConfigError(f"{source}: 'end' ({end}) is before 'start' ({start})")
    if (end - start).days // 7 + 1 > MAX_CHAIN_WEEKS:
        raise ConfigError(
            f"{source}: 'start'..'end' ({start}..{end}) holds {(end - start).days // 7 + 1} weeks, more than the "
            f"{MAX_CHAIN_WEEKS} a chain may hold: is a year mistyped?"
        )
    for key, day in (("end", end), ("week", week)):
        if (day - start).days % 7:
            raise ConfigError(f"{source}: '{key}' ({day}) is not a whole number of weeks after 'start' ({start})")
    if week_follows_end and week > end:
        week = end
        params["week"] = end.isoformat()
    if not start <= week <= end:
        raise ConfigError(f"{source}: 'week' ({week}) is outside start..end ({start}..{end})")

    train = params["train"]
    if train["valid_weeks"] >= train["window_weeks"]:
        raise ConfigError(
            f"{source}: 'train.valid_weeks' ({train['valid_weeks']}) must be smaller than "
            f"'train.window_weeks' ({train['window_weeks']})"
        )
    if train["max_window_weeks"] < train["window_weeks"]:
        raise ConfigError(
            f"{source}: 'train.max_window_weeks' ({train['max_window_weeks']}) must be at least "
            f"'train.window_weeks' ({train['window_weeks']})"
        )
    if train["threshold"]["method"] == "event_rate" and train["threshold"]["event_rate"] is None:
        raise ConfigError(f"{source}: 'train.threshold.event_rate' must be set when 'train.threshold.method' is event_rate")
    cols = params["data"]["columns"]
    generator = params["data"]["generator"]
    if params["data"]["generate"] and (generator["event_rate"] is not None) != (len(cols["classes"]) == 2):
        made = "a binary portfolio ('data.generator.event_rate')" if generator["event_rate"] is not None else "three classes"
        raise ConfigError(
            f"{source}: 'data.columns.classes' {cols['classes']} do not fit the embedded data: data.generate is true "
            f"and it makes {made}; set data.generate: false to bring your own data, or data.generator.event_rate "
            f"(e.g. 0.03) with two classes (e.g. ['No', 'Yes']) for a binary portfolio"
        )
    features = cols["numeric"] + cols["categorical"]
    if not features:
        raise ConfigError(f"{source}: 'data.columns' lists no numeric or categorical feature")
    roles = [cols["id"], cols["date"], cols["target"], *features]
    repeated = sorted({c for c in roles if roles.count(c) > 1})
    if repeated:
        raise ConfigError(f"{source}: 'data.columns' gives column(s) {repeated} more than one role")
    _check_segments(cols, source)
    if params["data"]["generate"]:
        _check_generated_columns(params, source)
    _check_ranges(params, source)
    if params["retrain"]["drift"]["min_features"] > len(features):
        raise ConfigError(
            f"{source}: key 'retrain.drift.min_features': {params['retrain']['drift']['min_features']} is more than "
            f"the {len(features)} feature(s) of data.columns: the drift of features could never fire"
        )
    return params


class _RefuseRepeatedKeys:
    """A safe loader's mapping constructor, refusing a key given twice in one mapping (PyYAML
    would keep the last silently; DVC refuses such a file)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(
                    f"key '{key}' is given twice (lines {seen[key]} and {key_node.start_mark.line + 1}): "
                    "keep one"
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


class _UniqueKeys(_RefuseRepeatedKeys, _SafeLoader):
    """libyaml's parser when PyYAML has it."""


class _UniqueKeysExplained(_RefuseRepeatedKeys, yaml.SafeLoader):
    """PyYAML's own parser: slower, but its errors quote the line and point at the mistake."""


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content; an unreadable file, bad YAML, a key given twice or a key that
    makes Snakemake run the file as a template (`__use_yte__`) is a ConfigError naming the file.

    The Snakefile calls it before `configfile:`, so that such a file never reaches Snakemake's loader.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        try:
            content = yaml.load(text, Loader=_UniqueKeys)  # noqa: S506 (a safe loader)
        except yaml.YAMLError:
            content = yaml.load(text, Loader=_UniqueKeysExplained)  # noqa: S506 (the same, to say where and why)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    refuse_templates(content, str(path))
    return content


def load_params(path: str | Path = "params.yaml") -> dict:
    """Read `path` and validate it (see validate_params)."""
    path = Path(path)
    raw = read_yaml(path)
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys, got {type(raw).__name__}")
    return validate_params(raw, str(path))
