"""Secrets out of every text that leaves the process: passwords in URLs, tokens in query
strings and headers, and the values of the environment variables that hold secrets.

The chain's secrets live in the environment only: a password inside MLFLOW_TRACKING_URI
(`http://user:secret@host`), MLFLOW_TRACKING_PASSWORD or _TOKEN, the alert channels'
webhook URL and SMTP password (params.yaml alerts.channels names their variables). What
the chain writes or sends (a log line, a console line, an alert record, a webhook post, a
mail, a channel's recorded error) goes through `redact` first; a message that names a
URI shows `redact_uri(uri)`. Both are deterministic and idempotent (redacting twice
changes nothing more); `redact` reads the environment, `redact_uri` nothing.
"""
from __future__ import annotations

import functools
import os
import re
import urllib.parse
from typing import Any, Iterable, Mapping

MASK = "***"

# Variables whose values are secrets, besides any named like one (SECRET_NAME): MLflow's
# credentials, the default names of the alert channels' secrets, and the artifact stores'.
SECRET_ENV = (
    "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN", "MLFLOW_FLASK_SERVER_SECRET_KEY",
    "WEEKLY_ALERT_WEBHOOK_URL", "WEEKLY_SMTP_PASSWORD",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_CONNECTION_STRING",
    "DATABRICKS_TOKEN",
)
# A variable named like a secret (a channel's `url_env` or `password_env` renamed in params.yaml).
SECRET_NAME = re.compile(
    r"(?:^|_)(?:PASSWORD|PASSWD|TOKEN|SECRET|SECRET_KEY|API_KEY|ACCESS_KEY|PRIVATE_KEY|WEBHOOK_URL|CONNECTION_STRING)$",
    re.IGNORECASE)
MIN_LENGTH = 4  # a shorter value would mask ordinary text, and is no secret worth the name
# Values too common to be secrets: masking them would garble every line holding the word.
_PLAIN = frozenset({"true", "false", "none", "null", "unset", "disabled", "enabled"})
# A webhook's path is its secret (Slack, Teams): masked on its own when at least this long.
_MIN_PATH = 8

# scheme://userinfo@: the greedy userinfo ends at the last "@" before the host's end.
_USERINFO = re.compile(r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*://)([^\s/?#@'\"<>`]*(?:@[^\s/?#@'\"<>`]*)*)@")
# token=..., password=..., api_key=..., X-Amz-Signature=... in a query string or in prose.
_PARAMETER = re.compile(
    r"(?<![\w.\-])((?:[\w.\-]*[_.\-])?(?:token|password|passwd|pwd|secret|key|apikey|sig|signature|credentials?)=)"
    r"([^&\s#'\"<>]+)", re.IGNORECASE)
# Authorization: Bearer <token> (a header printed by an HTTP library's error or debug line).
_HEADER = re.compile(r"(authorization['\"]?\s*[:=]\s*['\"]?(?:(?:bearer|basic|token)\s+)?)([^\s'\",}]+)", re.IGNORECASE)


def _userinfo(match: re.Match) -> str:
    user, colon, password = match.group(2).partition(":")
    if not colon or not password or password == MASK:
        return match.group(0)  # a user name alone is no secret; nothing to mask
    return f"{match.group(1)}{user}:{MASK}@"


def _structural(text: str) -> str:
    # The parts of a text that are secret by their place: a URL's password, a secret
    # parameter's value, an Authorization header's credentials.
    if "://" in text:
        text = _USERINFO.sub(_userinfo, text)
    if "=" in text:
        text = _PARAMETER.sub(lambda m: m.group(1) + MASK, text)
    if "uthorization" in text or "UTHORIZATION" in text:
        text = _HEADER.sub(lambda m: m.group(1) + MASK, text)
    return text


def redact_uri(uri: str) -> str:
    """`uri` with the password of its userinfo (`http://user:***@host`) and its secret query
    parameters masked, for a message or a file that names it. Reads nothing else. Given a
    text (an error message: it holds whitespace, which a URI does not), every URL in it is
    masked as `redact` masks it, without the environment's values."""
    uri = str(uri)
    scheme, sep, rest = uri.partition("://")
    if not sep or any(c.isspace() for c in uri):
        return _structural(uri)
    # The authority ends at the first /, ? or #, whatever it holds (as urllib.parse reads it).
    end = min([i for i in (rest.find(c) for c in "/?#") if i >= 0], default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, host = authority.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if at and colon and password:
        authority = f"{user}:{MASK}@{host}"
    return f"{scheme}{sep}{authority}{_structural(tail)}"


def _url_passwords(value: str) -> set[str]:
    # The password inside a URL-valued variable (MLFLOW_TRACKING_URI, a proxy, a database
    # URI), as written and percent-decoded: it may turn up on its own in a library's error.
    found = set()
    for word in value.split():
        if "://" not in word or "@" not in word:
            continue
        try:
            password = urllib.parse.urlsplit(word).password
        except ValueError:
            continue
        if password:
            found |= {password, urllib.parse.unquote(password)}
    return found


def _forms(value: str) -> set[str]:
    # A secret value as a text may hold it: as it is, escaped as Python's repr escapes it,
    # and for a URL (a webhook) its path, query and fragment, which are its secret part.
    value = value.strip()
    found = {value, repr(value)[1:-1]}
    if "://" in value:
        try:
            parts = urllib.parse.urlsplit(value)
        except ValueError:
            return found
        secret = value[value.find(parts.netloc) + len(parts.netloc):] if parts.netloc else ""
        if len(secret) >= _MIN_PATH:
            found |= {secret, repr(secret)[1:-1]}
    return found


def secret_values(env: Mapping[str, str] | None = None, names: Iterable[str] = ()) -> tuple[str, ...]:
    """The secret values in `env` (default: the process's environment), longest first: those
    of SECRET_ENV, of `names` and of every variable named like a secret (SECRET_NAME), and
    the password inside any URL-valued variable; none shorter than MIN_LENGTH."""
    return _secret_values(frozenset((os.environ if env is None else env).items()), frozenset(names))


@functools.lru_cache(maxsize=16)  # every log line asks: the environment seldom changes
def _secret_values(env: frozenset[tuple[str, str]], names: frozenset[str]) -> tuple[str, ...]:
    named = set(SECRET_ENV) | names
    found: set[str] = set()
    for name, value in env:
        if not value:
            continue
        if name in named or SECRET_NAME.search(name):
            found |= _forms(value)
        if "://" in value and "@" in value:
            found |= _url_passwords(value)
    return tuple(sorted((v for v in found if len(v) >= MIN_LENGTH and v.lower() not in _PLAIN),
                        key=lambda v: (-len(v), v)))


@functools.lru_cache(maxsize=16)
def _masker(values: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(map(re.escape, values)))


def redact(text: str, env: Mapping[str, str] | None = None, names: Iterable[str] = ()) -> str:
    """`text` with every secret masked as `***`: the values of the secret variables of `env`
    (default: the process's environment; `names`: more variables holding secrets, see
    secret_values), the password of every URL (`http://user:***@host`; a user name alone
    stays) and the values of secret parameters (`token=***`, `password=***`, `api_key=***`)
    and of Authorization headers."""
    if not text:
        return text
    values = secret_values(env, names)
    if values:
        text = _masker(values).sub(MASK, text)
    return _structural(text)


def redact_data(data: Any, env: Mapping[str, str] | None = None, names: Iterable[str] = ()) -> Any:
    """A copy of JSON-like `data` (dicts, lists, strings, numbers) with every string in it
    redacted (see redact); the keys and the structure stay."""
    env = dict(os.environ if env is None else env)  # read once for the whole structure
    names = tuple(names)

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, env, names)
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(item) for item in value]
        return value

    return walk(data)
