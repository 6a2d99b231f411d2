"""Load and validate `params.yaml`: one schema, every key typed, described and defaulted."""
from __future__ import annotations

import copy
import datetime as dt
import functools
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


def _parse_date(params: dict, key: str, source: str) -> dt.date:
    try:
        return dt.date.fromisoformat(params[key])
    except ValueError:
        raise ConfigError(f"{source}: '{key}' is {params[key]!r}, not an ISO date (YYYY-MM-DD)") from None


def validate_params(raw: dict | None, source: str = "params.yaml", *, week_follows_end: bool = False) -> dict:
    """Return a validated copy of the parameters with every default filled in.

    Raises ConfigError naming the file and the offending key on an unknown key, a wrong
    type, a date that is not a week of the chain or inconsistent column roles.
    With `week_follows_end`, a `week` after `end` becomes `end` instead of an error: a
    Snakemake run given only `--config end=...` stops the chain there, and `week` (the
    week `dvc repro` builds, which no rule reads) moves with it.
    """
    params = _dates_to_iso(copy.deepcopy(raw or {}))
    classes = ((params.get("data") or {}).get("columns") or {}).get("classes") or []
    if any(isinstance(c, bool) for c in classes):
        raise ConfigError(
            f"{source}: key 'data.columns.classes': {classes} holds booleans: YAML reads unquoted "
            "No/Yes/on/off/true/false as booleans; quote the labels, e.g. classes: ['No', 'Yes']"
        )
    errors = sorted(_Validator(_schema()).iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(f"{source}: key '{where}': {err.message}")

    start, end, week = (_parse_date(params, k, source) for k in ("start", "end", "week"))
    if end < start:
        raise ConfigError(f"{source}: 'end' ({end}) is before 'start' ({start})")
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
    """A YAML file's content; an unreadable file, bad YAML or a key given twice is a
    ConfigError naming the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        try:
            return yaml.load(text, Loader=_UniqueKeys)  # noqa: S506 (a safe loader)
        except yaml.YAMLError:
            return yaml.load(text, Loader=_UniqueKeysExplained)  # noqa: S506 (the same, to say where and why)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def load_params(path: str | Path = "params.yaml") -> dict:
    """Read `path` and validate it (see validate_params)."""
    path = Path(path)
    raw = read_yaml(path)
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys, got {type(raw).__name__}")
    return validate_params(raw, str(path))
