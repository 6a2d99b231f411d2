"""MLflow: one run per candidate, the winner registered and promoted with the `champion` alias.

Only weeks that retrain come here, so MLflow is imported inside these functions.
The embedded store is a SQLite file; every access to it holds a file lock, so parallel
processes (two `snakemake` runs, queued `dvc exp` runs) queue up instead of failing on a
locked database or racing on the store's creation.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import logging
import os
import re
import sqlite3
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from weekly.errors import WeeklyError

log = logging.getLogger(__name__)


def _project_path(relative: str) -> Path:
    # A queued DVC experiment runs in a temporary copy of the project; DVC_ROOT names the
    # project itself, whose embedded store must receive the experiment's registrations.
    return Path(os.environ.get("DVC_ROOT", ".")) / relative


def embedded_uri(registry: dict) -> str:
    """The embedded store of params.yaml, in the project (also from a queued DVC
    experiment's temporary copy)."""
    uri = registry["tracking_uri"]
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////") and os.environ.get("DVC_ROOT"):
        return f"sqlite:///{_project_path(uri.removeprefix('sqlite:///')).resolve()}"
    return uri


def tracking_uri(registry: dict) -> str:
    """MLFLOW_TRACKING_URI when set, else the embedded store of params.yaml."""
    return os.environ.get("MLFLOW_TRACKING_URI") or embedded_uri(registry)


REGISTER_AGAIN = "WEEKLY_REGISTER_AGAIN"  # set to 1: the run registers the chain into a new store
REGISTER_AGAIN_COMMAND = f"`{REGISTER_AGAIN}=1 snakemake --cores all --forcerun register all_weeks`"


def _sqlite_file(uri: str) -> Path | None:
    """The database file of a SQLite store URI (also `sqlite:///file:<path>?mode=ro&uri=true`);
    None for a server."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///").removeprefix("file:").split("?")[0])


def check_store(registry: dict, latest_tracker: str) -> None:
    """Stop before anything runs when the chain has registered models (its latest tracker
    is there) but its embedded store is gone: the trackers would name versions that exist
    nowhere, and a re-run week would register its model as version 1 again. A store that
    came with a copied or moved project is pointed at this project's artifact folder. Cheap
    (no MLflow import); a tracking server's sign-in is checked here too (check_server)."""
    uri = tracking_uri(registry)
    db = _sqlite_file(uri)
    registered = os.path.exists(latest_tracker) and os.environ.get(REGISTER_AGAIN) != "1"
    if db is not None and registered and not db.exists():
        raise RegistryError(
            f"{latest_tracker} names a registered model, but the MLflow store {_shown(uri)} ({db}) is missing: restore it "
            f"from a copy, or register the chain again into a new store with {REGISTER_AGAIN_COMMAND} (the fits "
            f"are reproducible: the same versions, in week order)"
        )
    if uri.startswith(("http://", "https://")):
        check_server(uri)
    if db is not None and db.exists() and "mode=ro" not in uri:
        _check_sqlite(uri, db)
    relocate_artifacts(registry)


def _check_sqlite(uri: str, db: Path) -> None:
    """A damaged SQLite store (cut short, its header overwritten) stops the run at start, in
    one line: SQLite's quick check reads every page (milliseconds for a chain's store)."""
    try:
        with store_lock(uri), contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            said = con.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as exc:
        said = str(exc)
    except OSError:
        return  # unreadable: the step that opens it says so
    if said != "ok":
        raise RegistryError(_store_fault(sqlite3.DatabaseError(said), uri, db))


# Where MLflow's SQL store keeps the artifact locations it derives from an experiment's.
_LOCATIONS = {"experiments": ("artifact_location",), "runs": ("artifact_uri",), "logged_models": ("artifact_location",),
              "model_versions": ("source", "storage_location")}


def relocate_artifacts(registry: dict) -> None:
    """MLflow stores absolute artifact locations: an embedded store copied or moved with its
    project still names the old folder's `mlartifacts/`, so that the copy would read the
    original's files and write new ones into them. Such a store is pointed at this
    project's artifact folder, in one transaction, before MLflow opens it."""
    uri = tracking_uri(registry)
    db = _sqlite_file(uri)
    if uri != embedded_uri(registry) or db is None or not db.exists() or "mode=ro" in uri:
        return
    here = _project_path(registry["artifact_dir"]).resolve().as_uri()
    try:
        with store_lock(uri), contextlib.closing(sqlite3.connect(db)) as con:
            row = con.execute("SELECT artifact_location FROM experiments WHERE name = ?",
                              (registry["experiment"],)).fetchone()
            old = row[0] if row else None
            if old is None or old == here or not old.startswith("file://"):
                return
            with con:
                for table, columns in _LOCATIONS.items():
                    for column in columns:  # the folder itself, or a path inside it
                        con.execute(f"UPDATE {table} SET {column} = ? || substr({column}, ?) WHERE {column} = ? "
                                    f"OR substr({column}, 1, ?) = ?", (here, len(old) + 1, old, len(old) + 1, old + "/"))
    except (OSError, sqlite3.Error):
        return  # not (yet) an MLflow store, or one this run may not write: the step that opens it says so
    log.info("MLflow store %s came from another folder: its artifact locations moved from %s to %s", db, old, here)


def serving_alias(registry: dict) -> str:
    """The alias this chain moves: `registry.alias` for the project's own chain; for a DVC
    experiment (DVC_EXP_NAME set) `<alias>-<experiment>`, so that an experiment never moves
    the production alias."""
    experiment = os.environ.get("DVC_EXP_NAME")
    if not experiment:
        return registry["alias"]
    return f"{registry['alias']}-{re.sub(r'[^A-Za-z0-9_-]', '-', experiment)}"


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Serialise access to a SQLite store across processes; a no-op for a server."""
    db = _sqlite_file(uri)
    if db is None:
        yield
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{db}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class RegistryError(WeeklyError):
    """The registry cannot be used: the message says which and what to do."""


def _shown(uri: str) -> str:
    """A URI as it may be written anywhere: its password replaced (weekly.secrets)."""
    from weekly.secrets import redact_uri

    return redact_uri(uri)


def _credentials(uri: str) -> tuple[str, dict]:
    """The server's address without its userinfo, and the header MLflow's client would send:
    MLFLOW_TRACKING_TOKEN (bearer), else MLFLOW_TRACKING_USERNAME/PASSWORD or the URI's own
    user:password (basic)."""
    import base64
    import urllib.parse

    parts = urllib.parse.urlsplit(uri)
    bare = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl() \
        if parts.username is not None else uri
    if os.environ.get("MLFLOW_TRACKING_TOKEN"):
        return bare, {"Authorization": f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"}
    user = os.environ.get("MLFLOW_TRACKING_USERNAME") or urllib.parse.unquote(parts.username or "")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD") or urllib.parse.unquote(parts.password or "")
    if not user:
        return bare, {}
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return bare, {"Authorization": f"Basic {token}"}


_SERVERS_CHECKED: set[str] = set()  # the tracking servers this process found answering, signed in


def check_server(uri: str) -> None:
    """A tracking server is reachable and takes this run's credentials, checked with one
    authenticated read of MLflow's REST API (`/health` answers anyone): a server that is
    down, refuses the credentials or whose database is down stops the run at once, in one
    line naming it, instead of after the week's fits. MLflow's own settings, when set,
    win: requests time out after MLFLOW_HTTP_REQUEST_TIMEOUT seconds (10 here) and are
    retried MLFLOW_HTTP_REQUEST_MAX_RETRIES times (2 here)."""
    import ssl
    import urllib.error
    import urllib.request

    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    if uri in _SERVERS_CHECKED:
        return  # once a process: the run's start checked it; a server lost later is a store fault (_store_fault)
    timeout = float(os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"])
    bare, headers = _credentials(uri)
    shown = _shown(uri)
    context = None
    if bare.startswith("https://"):
        context = ssl.create_default_context(cafile=os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or None)
        if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(f"{bare.rstrip('/')}/api/2.0/mlflow/registered-models/search?max_results=1",
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context):
            _SERVERS_CHECKED.add(uri)
            return
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RegistryError(
            f"MLflow tracking server {shown} is unreachable ({_shown(str(reason))}); start it, or unset "
            "MLFLOW_TRACKING_URI to use the embedded store"
        ) from None
    raise RegistryError(_http_problem(shown, code, bool(headers))) from None


def _http_problem(shown: str, code: int, sent: bool) -> str:
    """One line for a tracking server's refusal (`code`), naming the server and the fix."""
    if code == 401:
        return (f"MLflow tracking server {shown} refused {'the credentials' if sent else 'a request without credentials'} "
                "(401): set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) in the "
                "environment to a user of the server; the week's files are unchanged")
    if code == 403:
        return (f"MLflow tracking server {shown} refused this user (403): the server's admin grants it EDIT (or MANAGE) "
                "on the registered model (docs/server.md); the week's files are unchanged")
    if code in (502, 503, 504):
        return (f"MLflow tracking server {shown} answers {code}: the server runs but its backend store (the database "
                "behind it) does not answer; check the database and the server's log, then run again")
    return f"MLflow tracking server {shown} answered HTTP {code}: see the server's log; the week's files are unchanged"


@contextmanager
def _open_store(registry: dict) -> Iterator[tuple[Any, bool]]:
    """MLflow pointed at the chain's store, under its lock: a client, and whether the store
    is the embedded one of params.yaml."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow prints each run's address to stdout, credentials of the URI included: the
    # chain's console is the week lines (the runs are in MLflow and the job logs).
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    uri = tracking_uri(registry)
    if uri.startswith(("http://", "https://")):
        check_server(uri)
    import mlflow
    from mlflow import MlflowClient

    # Decided now: mlflow.set_tracking_uri puts the uri into MLFLOW_TRACKING_URI.
    embedded = uri == embedded_uri(registry)
    db = _sqlite_file(uri)
    try:
        if db is not None and db.exists() and not (os.access(db, os.W_OK) and os.access(db.parent, os.W_OK)):
            raise PermissionError("Permission denied")
        relocate_artifacts(registry)
        with store_lock(uri):
            mlflow.set_tracking_uri(uri)
            mlflow.set_registry_uri(uri)
            yield MlflowClient(tracking_uri=uri, registry_uri=uri), embedded
    except RegistryError:
        raise
    except Exception as exc:
        if _read_only(exc):
            raise RegistryError(
                f"the MLflow store {_shown(uri)} is read-only ({_read_only(exc)}): make the store's file and folder "
                f"writable, or point MLFLOW_TRACKING_URI at a store this run may write; the week's files are unchanged"
            ) from None
        problem = _store_fault(exc, uri, db)
        if problem:
            raise RegistryError(problem) from None
        raise


def _store_fault(exc: BaseException, uri: str, db: Path | None) -> str | None:
    """One line naming the store and the fix for a fault of the store itself (a full disk, a
    damaged SQLite file, a server that stopped answering or whose database is down, a
    refused user); None for anything else (a bug: its traceback is logged)."""
    import errno

    text = f"{type(exc).__name__}: {exc}"
    shown = _shown(uri)
    first = _shown(text.strip().splitlines()[0])[:160] if text.strip() else type(exc).__name__
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left on device" in text \
            or "database or disk is full" in text:
        return (f"no space left on the device of the MLflow store {shown} ({first}): free space and run again; "
                "a re-run week finds its registration again")
    if db is not None and any(said in text for said in ("file is not a database", "database disk image is malformed",
                                                         "DatabaseError")):
        return (f"the MLflow store {db} is damaged ({first}): restore it from a backup, or move it aside "
                f"and register the chain again into a new store with "
                f"{REGISTER_AGAIN_COMMAND}")
    status = getattr(exc, "get_http_status_code", lambda: None)()
    if status in (401, 403):
        return _http_problem(shown, status, True)
    for code in (502, 503, 504, 500):
        if f"too many {code} error responses" in text:
            return _http_problem(shown, code, True)
    if any(said in text for said in ("Max retries exceeded", "Connection refused", "Connection aborted",
                                     "RemoteDisconnected", "ConnectionError", "Read timed out")):
        # What went wrong, not the start of requests' message (the URL again, cut anywhere)
        call = re.search(r"/api/2\.0/mlflow(?:-artifacts)?/([\w/.-]+)", text)
        reason = next((said for said in ("Remote end closed connection without response", "Connection reset by peer",
                                         "Connection refused", "Read timed out", "Connection aborted") if said in text),
                      None)
        what = f"{call.group(1) if call else 'a call'}: {reason.lower()}" if reason else first
        return (f"MLflow tracking server {shown} stopped answering during a call ({what}): start it again and run "
                "again; a re-run week finds its registration again, nothing is registered twice")
    return None


def open_store(registry: dict, algorithms: list[str] = ()) -> None:
    """Open the chain's store, creating its tables when it is new (a second for a new
    SQLite store), and import what logging a model of each of `algorithms` needs (MLflow's
    pyfunc flavour, the library): the side process does it ahead of the run's calls."""
    import importlib

    from weekly.modelling.algorithms import algorithm

    with _open_store(registry) as (client, _):
        client.search_experiments(max_results=1)
        client.search_registered_models(max_results=1)
    if algorithms:
        importlib.import_module("weekly.modelling.serving")
    for dist in sorted({dist for name in algorithms for dist in algorithm(name).distributions}):
        with contextlib.suppress(ImportError):
            importlib.import_module(_MODULES.get(dist, dist))


_MODULES = {"scikit-learn": "sklearn"}  # distributions whose module is named otherwise


def _read_only(exc: BaseException) -> str | None:
    """What says that a SQLite store refused a write, if that is what `exc` is (MLflow wraps
    SQLAlchemy's error; the access check raises PermissionError)."""
    said = "Permission denied" if isinstance(exc, PermissionError) else "attempt to write a readonly database"
    return said if said in str(exc) else None


def _experiment_id(client: Any, registry: dict, embedded: bool, name: str | None = None) -> str:
    name = name or registry["experiment"]
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = _project_path(registry["artifact_dir"]).resolve().as_uri() if embedded else None
    # The UI opens an experiment of this kind on its runs (training runs, not traces).
    return client.create_experiment(name, artifact_location=location,
                                    tags={"mlflow.experimentKind": "custom_model_development"})


def _log_candidate(
    exp_id: str, week: str, candidate: dict, example: pd.DataFrame, columns: dict, key: str, gate: dict | None
) -> Any:
    import mlflow
    from mlflow.models import infer_signature

    import weekly
    from weekly.modelling.algorithms import algorithm
    from weekly.modelling.serving import LocalContext, ProbabilityModel

    algo = candidate["algo"]
    valid = candidate["valid_metrics"]
    with mlflow.start_run(
        experiment_id=exp_id,
        run_name=f"{week}-{algo}",
        tags={
            "week": week,
            "model_type": algo,
            "fingerprint": candidate["fingerprint"],
            "model_sha256": candidate["model_sha256"],
            "training_code": candidate["training_code"],
            "registration_key": key,
            **({"promoted": str(gate["passed"]).lower()} if gate else {}),
        },
    ):
        mlflow.log_params({
            **candidate["hyperparameters"],
            "algo": algo,
            "seed": candidate["seed"],
            "train_rows": candidate["train_rows"],
            "valid_rows": candidate["valid_rows"],
            "window_first_week": candidate["window"][0],
            "window_last_week": candidate["window"][-1],
            # binary: the decision threshold chosen on the validation weeks (the registered model uses it)
            **({"decision_threshold": candidate["threshold"]} if candidate.get("threshold") is not None else {}),
        })
        mlflow.log_metrics({
            "valid_macro_f1": valid["macro_f1"],
            "valid_accuracy": valid["accuracy"],
            **{f"valid_f1_{c}": m["f1"] for c, m in valid["per_class"].items()},
            **({"valid_auc": valid["auc"]} if valid.get("auc") is not None else {}),
            # the challenger gate: the serving model on the same validation weeks
            **({"serving_valid_macro_f1": gate["serving_score"]} if gate and gate["serving_score"] is not None else {}),
        })
        wrapper = ProbabilityModel()
        wrapper.load_context(LocalContext(candidate["model_path"], algo, columns, candidate.get("threshold"),
                                          model_sha256=candidate["model_sha256"],
                                          calibration=candidate.get("calibration")))
        # params reasons: k reason codes per row (0, none), as preds.parquet carries them
        signature = _accepting_codes(infer_signature(example, wrapper.predict(None, example), params={"reasons": 0}),
                                     columns)
        # Explicit requirements: inferring them costs seconds per logged model.
        pinned = (*algorithm(algo).distributions, "pandas", "numpy", "mlflow")
        requirements = [f"{dist}=={version(dist)}" for dist in pinned]
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(weekly.__file__).parent / "modelling" / "pyfunc_model.py"),
            artifacts={"native_model": candidate["model_path"]},
            model_config={"algo": algo, "columns": columns, "threshold": candidate.get("threshold"),
                          "model_sha256": candidate["model_sha256"], "calibration": candidate.get("calibration")},
            code_paths=[str(Path(weekly.__file__).parent)],
            signature=signature,
            input_example=example,
            pip_requirements=requirements,
        )


def _accepting_codes(signature: Any, columns: dict) -> Any:
    """The signature with every feature typed loosely, so that the registered model takes
    what the weekly path takes: categoricals as strings or integer codes, numbers as
    integers or floats (ProbabilityModel normalises them as the raw-file checks do)."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    loose = set(columns["categorical"]) | set(columns["numeric"])
    inputs = [ColSpec(AnyType(), c.name, required=False) if c.name in loose else c for c in signature.inputs.inputs]
    return ModelSignature(inputs=Schema(inputs), outputs=signature.outputs, params=signature.params)


def register_week(
    week: str,
    candidates: list[dict],
    winner: str,
    registry: dict,
    example: pd.DataFrame,
    columns: dict,
    gate: dict | None = None,
    serving: dict | None = None,
) -> dict:
    """Log every candidate as a run, register the winner, move the alias to it.

    First the store is checked: the `serving` tracker's version must be there with its
    registration (_check_versions), and the alias must belong to this project (`registry.project`).

    With a challenger `gate` that did not pass, the candidates are logged (with both
    scores) and nothing is registered: `promoted` is False. Idempotent: when a version (or,
    kept out, a run) with the same registration key (see registration_key) exists, it is
    reused and nothing is added. The alias moves only if no later week holds it, so
    re-running an old week never demotes a newer champion.
    """
    promote = gate is None or gate["passed"]
    name, alias = registry["model_name"], serving_alias(registry)
    best = next(c for c in candidates if c["algo"] == winner)
    key = registration_key(candidates, registry["project"])
    with _open_store(registry) as (client, embedded):
        import mlflow

        if serving is not None:
            _check_versions(client, registry, [serving])
        _check_owner(client, registry, alias)
        existing = _find_version(client, name, key) if promote else None
        if existing is None:
            exp_id = _experiment_id(client, registry, embedded)
            if embedded:
                _close_interrupted_runs(client, exp_id, week)
            if not promote:
                # each candidate once: a call cut short after the first is completed, not repeated
                logged = {run.data.tags.get("model_type") for run in client.search_runs(
                    [exp_id], f"tags.registration_key = '{key}' and attributes.status = 'FINISHED'")}
                for cand in candidates:
                    if cand["algo"] not in logged:
                        _log_candidate(exp_id, week, cand, example, columns, key, gate)
                return {"model_name": name, "promoted": False}
            infos = {}
            for cand in candidates:
                infos[cand["algo"]] = _log_candidate(exp_id, week, cand, example, columns, key, gate)
            tags = {
                "week": week,
                "model_type": winner,
                "registration_key": key,
                "project": registry["project"],
                CLAIM_TAG: alias,  # the alias this version is for: the first such version's project owns it
                "model_sha256": best["model_sha256"],
                "valid_macro_f1": f"{best['valid_metrics']['macro_f1']:.6f}",
                **{f"score_{c['algo']}": f"{c['valid_metrics']['macro_f1']:.6f}" for c in candidates},
            }
            # MLflow prints "Created version ..." to stderr: into the job's log instead.
            with contextlib.redirect_stderr(io.StringIO()) as printed:
                version = mlflow.register_model(infos[winner].model_uri, name, tags=tags)
            for line in printed.getvalue().splitlines():
                log.info("mlflow: %s", line)
            client.update_model_version(name, version.version, description=(
                f"Week {week}: {winner}, validation macro F1 {best['valid_metrics']['macro_f1']:.4f}, "
                f"trained on weeks {best['window'][0]}..{best['window'][-1]} ({best['train_rows']} training rows)."
            ))
            existing, reused = _first_of_key(client, name, key, version.version), False
            if str(existing.version) != str(version.version):
                reused = True
            elif _owner(client, name, alias) != registry["project"]:
                # another project claimed the alias with a version made at the same moment,
                # before this one: this version goes, the alias stays theirs
                client.delete_model_version(name, version.version)
                _check_owner(client, registry, alias)
        else:
            reused = True
        _move_alias(client, registry, alias, existing, week)
    return {
        "model_name": name,
        "version": str(existing.version),
        "registration_key": key,
        "model_uri": f"models:/{name}/{existing.version}",
        "alias": alias,
        "run_id": existing.run_id,
        "reused": reused,
        "promoted": True,
    }


def attach_card(registry: dict, registration: dict, files: list[Path]) -> None:
    """A registered version's model card (card.json, card.html), logged to the version's run
    under card/ and named by the version's tag `model_card`: the MLflow version carries it.
    A version that carries it already (a re-run week, or a copy of the chain that registered
    the same training at the same moment) is left as it is."""
    from mlflow.exceptions import MlflowException

    name, version, run_id = registration["model_name"], registration["version"], registration["run_id"]
    uri = f"runs:/{run_id}/card/{Path(files[-1]).name}"
    with _open_store(registry) as (client, _):
        if client.get_model_version(name, version).tags.get("model_card") == uri:
            return
        for path in files:
            client.log_artifact(run_id, str(path), "card")  # the same bytes from any copy
        try:
            client.set_model_version_tag(name, version, "model_card", uri)
        except MlflowException:
            # a copy of the chain tagged it between the look and the write (a server's store
            # refuses the second insert): what counts is that the tag is there
            if client.get_model_version(name, version).tags.get("model_card") != uri:
                raise


def verify_serving(registry: dict, state: dict) -> None:
    """Before a week is scored: the version its tracker names (`state`) is in the registry
    with the registration key and file digest the tracker recorded, and the chain's alias
    points at a registration of this chain: that version, or a later week's. A version
    registered by this project (its `project` tag, and the only version of its registration
    key: a copy made by someone else repeats the key) for this week or before, which the
    tracker no longer names (the week was run again and promoted another model, or none),
    is stale: the alias moves back to the tracker's version. Anything else (a version of
    another project, a copy, no alias) is an alias moved behind the chain's back: the week
    stops in one line naming the version it points at."""
    from mlflow.exceptions import MlflowException

    name, alias = state["model_name"], state.get("model_alias") or serving_alias(registry)
    with _open_store(registry) as (client, _):
        _check_versions(client, registry, [state])
        try:
            current = client.get_model_version_by_alias(name, alias)
        except MlflowException:
            current = None
        if current is not None and str(current.version) == str(state["model_version"]):
            return
        key = current.tags.get("registration_key") if current is not None else None
        first = _find_version(client, name, key) if key else None
        ours = first is not None and current.tags.get("project") == registry["project"] and \
            str(first.version) == str(current.version)
        if ours and current.tags.get("week", "") > state["week"]:
            return  # a later week's registration: that week checks it when it scores
        if ours:
            client.set_registered_model_alias(name, alias, str(state["model_version"]))
            log.info("alias %s of %s pointed at version %s (week %s), which this chain no longer serves: moved back "
                     "to version %s (week %s's tracker)", alias, name, current.version, current.tags.get("week"),
                     state["model_version"], state["week"])
            return
    where = (f"points at version {current.version} (week {current.tags.get('week', '?')}, project "
             f"{current.tags.get('project', '?')!r})" if current is not None else "is not set")
    raise RegistryError(
        f"week {state['week']} not scored: alias {alias} of {name} in {_shown(tracking_uri(registry))} {where}, "
        f"but this chain serves version {state['model_version']} (weeks/{state['week']}/tracker.json): someone moved "
        f"the alias; find out who (the server's log), move it back "
        f"(MlflowClient().set_registered_model_alias('{name}', '{alias}', '{state['model_version']}')) and run again"
    )


def registration_key(candidates: list[dict], project: str) -> str:
    """What identifies a week's registration: the project, every candidate's fingerprint
    (week, data, settings, training code, library versions) and the bytes of its native file.

    The native file's digest makes the registered artifact and the file the chain serves
    the same model, even if a fit did not reproduce byte for byte; the project makes two
    projects that train alike register versions of their own (each claims its alias with
    its versions, see _owner).
    """
    joined = "|".join([project, *sorted(f"{c['fingerprint']}:{c['model_sha256']}" for c in candidates)])
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def _close_interrupted_runs(client: Any, exp_id: str, week: str) -> None:
    # A run still RUNNING for the week was cut by a crash (under the store's lock no other
    # process is logging): the re-run week closes it as FAILED. Not done on a server, where
    # another chain may be logging that week right now.
    for run in client.search_runs([exp_id], f"tags.week = '{week}' and attributes.status = 'RUNNING'"):
        client.set_terminated(run.info.run_id, "FAILED")
        log.info("week %s: MLflow run %s, left running by an interrupted registration, closed as FAILED",
                 week, run.info.run_id)


def _first_of_key(client: Any, name: str, key: str, created: str) -> Any:
    """The version that keeps registration `key`: the first one made. Another chain on the
    same server may have registered the same training at the same moment (nothing
    serialises two clients of a server); version numbers grow in creation order, so each
    side, looking after its own creation, sees the same first version, and the later side
    deletes the one it made: one version per key, whichever chain was first."""
    first = _find_version(client, name, key)
    if str(first.version) != str(created):
        client.delete_model_version(name, created)
        log.info("version %s of %s duplicated version %s (key %s, registered at the same moment by another "
                 "chain): deleted, version %s serves", created, name, first.version, key, first.version)
    return first


def _find_version(client: Any, name: str, key: str) -> Any:
    found = client.search_model_versions(f"name = '{name}' and tags.registration_key = '{key}'")
    return min(found, key=lambda v: int(v.version)) if found else None


def _check_versions(client: Any, registry: dict, trackers: list[dict]) -> None:
    """Each version the trackers name must be in the registry with the registration key and
    the native file's digest that the tracker recorded: otherwise the store is not the one
    the chain registered into (lost, replaced, or another chain's under the same name), and
    the weekly figures would name models that are not the ones served."""
    named = {}
    for state in trackers:
        named.setdefault((state["model_name"], str(state["model_version"])), state)
    held = {}
    for name in {name for name, _ in named}:
        held.update({(name, str(v.version)): v for v in client.search_model_versions(f"name = '{name}'")})
    for (name, number), state in named.items():
        version = held.get((name, number))
        recorded = {"registration_key": state.get("registration_key"), "model_sha256": state.get("model_sha256")}
        if version is None:
            problem = "is not there"
        else:
            differ = [k for k, v in recorded.items() if v and version.tags.get(k) not in (None, v)]
            if not differ:
                continue
            problem = f"has another {differ[0]} ({version.tags[differ[0]][:16]}, the tracker says {recorded[differ[0]][:16]})"
        raise RegistryError(
            f"week {state['week']}'s tracker names version {number} of {name}, which {problem} in the MLflow store "
            f"{_shown(tracking_uri(registry))}: the store is not the one this chain registered into (lost, replaced, or "
            f"another chain's under the same model name). Restore it, or register the chain again with "
            f"{REGISTER_AGAIN_COMMAND} (into an empty store, or with a registry.model_name of its own)"
        )


OWNER_TAG = "project.{alias}"  # a registered model's tag naming the project that moves `alias` (shown in the UI)
CLAIM_TAG = "alias"  # a version's tag: the alias it was registered for (with its `project` tag)


def _owner(client: Any, name: str, alias: str) -> str | None:
    """The project that owns `alias` of model `name`: the `project` of the first version
    registered for it. Version numbers are given out one at a time by the store, so two
    projects claiming the alias at the same moment agree on which was first (a tag could be
    set by both, the later overwriting the earlier). Before any such version: the model's
    OWNER_TAG (stores registered into by an older version of this package), else nobody."""
    from mlflow.exceptions import MlflowException

    claims = [v for v in client.search_model_versions(f"name = '{name}'")
              if v.tags.get(CLAIM_TAG) == alias and v.tags.get("project")]
    if claims:
        return min(claims, key=lambda v: int(v.version)).tags["project"]
    try:
        return client.get_registered_model(name).tags.get(OWNER_TAG.format(alias=alias))
    except MlflowException:
        return None  # not registered yet


def _check_owner(client: Any, registry: dict, alias: str) -> None:
    """An alias belongs to one project (`registry.project`), the first to register a version
    for it: another project registering under the same model name and alias on a shared
    server would otherwise move it to its own models, week after week."""
    owner = _owner(client, registry["model_name"], alias)
    if owner is not None and owner != registry["project"]:
        raise RegistryError(
            f"alias {alias} of {registry['model_name']} in {_shown(tracking_uri(registry))} belongs to project "
            f"{owner!r}, and this is project {registry['project']!r}: give this project a registry.alias or "
            f"registry.model_name of its own (or the same registry.project, if it is the same project); nothing was "
            f"registered"
        )


def _check_alias_is_ours(client: Any, registry: dict, alias: str, current: Any) -> None:
    """The alias points at a version this project registered (its `project` tag), or at
    none: a version of anyone else means the alias was moved behind the chain's back."""
    if current is None or current.tags.get("project", registry["project"]) == registry["project"]:
        return
    raise RegistryError(
        f"alias {alias} of {registry['model_name']} in {_shown(tracking_uri(registry))} points at version "
        f"{current.version}, which project {registry['project']!r} did not register (its project: "
        f"{current.tags.get('project')!r}): someone moved the alias; find out who (the server's log), then move it "
        f"back to this chain's version (weeks/latest/tracker.json) before the chain runs again"
    )


def _move_alias(client: Any, registry: dict, alias: str, version: Any, week: str) -> None:
    from mlflow.exceptions import MlflowException

    name = registry["model_name"]
    try:
        current = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        current = None
    _check_alias_is_ours(client, registry, alias, current)
    tag = OWNER_TAG.format(alias=alias)
    if client.get_registered_model(name).tags.get(tag) != registry["project"]:
        client.set_registered_model_tag(name, tag, registry["project"])
    if current is None or current.tags.get("week", "") <= week:
        try:
            client.set_registered_model_alias(name, alias, version.version)
        except MlflowException:
            # Another chain on the same server made the alias at this very moment (a server
            # inserts an alias's row on first use, and the second insert fails): it exists
            # now, so look again and move it by the same rule.
            current = client.get_model_version_by_alias(name, alias)
            if current.tags.get("week", "") <= week and str(current.version) != str(version.version):
                client.set_registered_model_alias(name, alias, version.version)



def _epoch_ms(week: str) -> int:
    import datetime as dt

    return int(dt.datetime.fromisoformat(week).replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


def log_monitoring(registry: dict, rows: pd.DataFrame, evaluations: dict[str, dict], trackers: list[dict]) -> str:
    """One MLflow run per chain (named by its alias) in `<experiment>-monitoring`: the weekly
    figures as series (step = the week's index, timestamp = the week), the evidence
    window's macro F1 with its interval (`pooled_macro_f1_value`, `_low`, `_high`) and its gains
    table's KS (`pooled_ks`), the serving history (which version served which week, and why)
    and every window's gains table (gains.json) as tables. Replaces the chain's
    previous monitoring run; logged in batches. Returns the run id."""
    from mlflow.entities import Metric, Param, RunTag

    from weekly.lifecycle.metrics import macro_auc

    alias = serving_alias(registry)
    history = pd.DataFrame([{
        "week": tr["week"], "model_version": str(tr["model_version"]), "model_type": tr["model_type"],
        "retrained": bool(tr["retrained"]), "why": tr.get("kept_because") or ("retrained" if tr["retrained"] else ""),
    } for tr in trackers])
    metrics = []
    for step, tr in enumerate(trackers):
        stamp, ev = _epoch_ms(tr["week"]), evaluations.get(tr["week"])
        figures = {"model_version": float(tr["model_version"]), "retrained": float(bool(tr["retrained"]))}
        if ev and ev["macro_f1"] is not None and not ev["too_small"]:
            figures.update({"macro_f1": ev["macro_f1"], "accuracy": ev["accuracy"], "log_loss": ev["risk"]["log_loss"],
                            "brier": ev["risk"]["brier"]})
            if macro_auc(ev["risk"]) is not None:
                figures["auc"] = macro_auc(ev["risk"])
            psi = [v for v in ev["psi"]["features"].values() if v is not None]
            if psi:
                figures["max_feature_psi"] = max(psi)
            if ev["psi"]["score"] is not None:
                figures["score_psi"] = ev["psi"]["score"]
        pooled = (ev or {}).get("pooled") or {}
        if pooled.get("judged") and pooled["macro_f1"]["value"] is not None:  # the figure the triggers read
            figures.update({f"pooled_macro_f1_{part}": pooled["macro_f1"][key]
                            for part, key in (("value", "value"), ("low", "low"), ("high", "high"))
                            if pooled["macro_f1"][key] is not None})
            figures["pooled_weeks"] = len(pooled["weeks"])
        gains = pooled.get("gains") or {}
        if pooled.get("judged") and gains.get("ks") is not None:  # the gains table's KS and its flagged bands
            figures.update({"pooled_ks": gains["ks"], "pooled_bands_flagged": float(len(gains["flagged_bands"]))})
        metrics += [Metric(key, float(value), stamp, step) for key, value in figures.items()]
    with _open_store(registry) as (client, embedded):
        _check_versions(client, registry, trackers)
        exp_id = _experiment_id(client, registry, embedded, f"{registry['experiment']}-monitoring")
        # A chain is its model and alias: portfolios of one project (models of their own,
        # each with `champion`) keep one monitoring run each.
        chain = f"{registry['model_name']}@{alias}"
        run = client.create_run(exp_id, run_name=f"monitoring-{chain}", tags={"chain": chain,
                                                                              "project": registry["project"]})
        run_id = run.info.run_id
        params = [Param("first_week", trackers[0]["week"]), Param("last_week", trackers[-1]["week"]),
                  Param("weeks", str(len(trackers)))]
        for start in range(0, len(metrics), 1000):  # MLflow's batch limit
            client.log_batch(run_id, metrics=metrics[start:start + 1000], params=params if not start else [],
                             tags=[RunTag("mlflow.note.content", "Weekly figures of the serving model, and the serving history.")] if not start else [])
        client.log_table(run_id, history, "serving_history.json")
        client.log_table(run_id, rows, "weekly.json")
        gains = _gains_rows(evaluations)
        if not gains.empty:
            client.log_table(run_id, gains, "gains.json")
        client.set_terminated(run_id)
        _drop_older_monitoring(client, exp_id, chain, registry["project"], run)
    return run_id


def _gains_rows(evaluations: dict[str, dict]) -> pd.DataFrame:
    """Every evaluated week's gains table (its evidence window's, eval.json pooled gains) as
    rows: week, band, score range, rows, events, event rate and interval, cumulative shares,
    KS, the validation event rate, the band test's adjusted p-value and whether it flagged."""
    keys = ("band", "score_low", "score_high", "rows", "events", "cumulative_events", "cumulative_non_events", "ks",
            "validation_event_rate", "p_adjusted", "flagged")
    return pd.DataFrame([{"week": week, **{k: band.get(k) for k in keys},
                          "event_rate": band["event_rate"]["value"], "event_rate_low": band["event_rate"]["low"],
                          "event_rate_high": band["event_rate"]["high"]}
                         for week, ev in sorted(evaluations.items())
                         for band in (((ev.get("pooled") or {}).get("gains") or {}).get("bands") or [])])


def _drop_older_monitoring(client: Any, exp_id: str, chain: str, project: str, mine: Any) -> None:
    """The chain's finished monitoring runs older than `mine` go: a copy of the project
    reporting at the same moment (its run still RUNNING, or newer) is left alone, so two
    reports never delete each other's run while it is written."""
    from mlflow.exceptions import MlflowException

    for old in client.search_runs([exp_id], f"tags.chain = '{chain}' and tags.project = '{project}' "
                                            f"and attributes.status = 'FINISHED'"):
        if old.info.run_id != mine.info.run_id and old.info.start_time <= mine.info.start_time:
            with contextlib.suppress(MlflowException):  # deleted by the other copy at the same moment
                client.delete_run(old.info.run_id)
