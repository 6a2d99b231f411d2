"""A model file put in a model's place runs nothing: every native file is checked against its
recorded sha256 before any library reads it, and no native format executes code when read."""
import hashlib
import os
import pickle

import numpy as np
import pytest
from test_models import COLUMNS, HYPER, labelled

from weekly.modelling import models
from weekly.workflow.steps.common import serving_model
from weekly.modelling.algorithms import ALGORITHMS, TRUSTED_SKOPS_TYPES, algorithm
from weekly.errors import StateError
from weekly.modelling.serving import LocalContext, ProbabilityModel


class Payload:
    """Unpickling it runs a shell command that creates `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Each algorithm's small fit, saved: (model, path, digest)."""
    out = {}
    for algo in ALGORITHMS:
        model = models.fit(algo, labelled(), COLUMNS, HYPER[algo], 1, 1)
        folder = tmp_path_factory.mktemp(algo)
        path = models.save(algo, model, folder)
        out[algo] = (model, path, sha256(path.read_bytes()))
    return out


def plant(path, marker) -> bytes:
    """Put a pickle that creates `marker` when unpickled in the model file's place."""
    planted = pickle.dumps(Payload(marker))
    path.write_bytes(planted)
    return planted


def one_line(exc: pytest.ExceptionInfo) -> str:
    said = str(exc.value)
    assert "\n" not in said and said
    return said


def test_the_planted_file_does_run_code_when_unpickled(tmp_path):
    # the control: what every test below keeps from happening
    marker = tmp_path / "ran"
    pickle.loads(plant(tmp_path / "model.pkl", marker))
    assert marker.exists()


def test_no_native_file_is_a_pickle():
    assert all(not a.native_file.endswith((".pkl", ".pickle", ".joblib")) for a in ALGORITHMS.values())
    assert algorithm("hist_gradient_boosting").native_file == "model.skops"


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_a_planted_file_with_the_old_digest_is_refused_before_it_is_read(algo, saved, tmp_path):
    _, original, digest = saved[algo]
    path = tmp_path / original.name
    marker = tmp_path / "ran"
    planted = plant(path, marker)
    with pytest.raises(models.DigestMismatch) as exc:
        models.load(algo, path, digest)
    said = one_line(exc)
    assert str(path) in said and f"sha256 {sha256(planted)[:12]}..." in said and f"recorded {digest[:12]}..." in said
    assert "snakemake all_weeks" in said
    assert not marker.exists()


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_a_planted_file_with_its_own_digest_recorded_runs_nothing(algo, tmp_path):
    # an attacker who also edited the tracker: the digest matches, and still no code runs
    path = tmp_path / algorithm(algo).native_file
    marker = tmp_path / "ran"
    planted = plant(path, marker)
    with pytest.raises(StateError) as exc:
        models.load(algo, path, sha256(planted))
    said = one_line(exc)
    assert str(path) in said and f"do not read as a {algo} model" in said
    assert not marker.exists()


def test_a_skops_file_holding_an_untrusted_type_is_refused(tmp_path):
    import skops.io as sio

    path = tmp_path / "model.skops"
    path.write_bytes(sio.dumps({"run": os.system}))
    with pytest.raises(StateError) as exc:
        models.load("hist_gradient_boosting", path, sha256(path.read_bytes()))
    assert "UntrustedTypesFoundException" in one_line(exc) and "posix.system" in str(exc.value)


@pytest.mark.parametrize("digest", [None, ""])
def test_no_digest_no_load(digest, saved):
    _, path, _ = saved["lightgbm"]
    with pytest.raises(StateError) as exc:
        models.load("lightgbm", path, digest)
    said = one_line(exc)
    assert str(path) in said and "no sha256 recorded" in said


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(StateError) as exc:
        models.load("catboost", tmp_path / "model.cbm", "ab" * 32)
    assert str(tmp_path / "model.cbm") in one_line(exc)


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_a_fitted_model_round_trips_with_its_digest(algo, saved):
    model, path, digest = saved[algo]
    data = labelled(seed=3)
    np.testing.assert_allclose(models.predict_proba(algo, models.load(algo, path, digest), data, COLUMNS),
                               models.predict_proba(algo, model, data, COLUMNS), rtol=1e-6)


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_the_same_fit_saves_the_same_bytes(algo, saved, tmp_path):
    _, path, digest = saved[algo]
    again = models.save(algo, models.fit(algo, labelled(), COLUMNS, HYPER[algo], 1, 1), tmp_path)
    assert sha256(again.read_bytes()) == digest


@pytest.mark.parametrize("classes", [("low", "mid", "high"), ("no", "yes")])
@pytest.mark.parametrize("categorical", [["cat"], []])
def test_a_fitted_hist_gradient_boosting_holds_only_trusted_types(classes, categorical, tmp_path):
    # how TRUSTED_SKOPS_TYPES was found: what skops does not trust by default in such fits
    import skops.io as sio

    cols = {**COLUMNS, "classes": list(classes), "categorical": categorical}
    data = labelled(classes=classes)[["id", "date", *cols["numeric"], *categorical, "label"]]
    model = models.fit("hist_gradient_boosting", data, cols, HYPER["hist_gradient_boosting"], 1, 1)
    path = models.save("hist_gradient_boosting", model, tmp_path)
    assert set(sio.get_untrusted_types(file=path)) <= set(TRUSTED_SKOPS_TYPES)
    loaded = models.load("hist_gradient_boosting", path, sha256(path.read_bytes()))
    np.testing.assert_allclose(models.predict_proba("hist_gradient_boosting", loaded, data, cols),
                               models.predict_proba("hist_gradient_boosting", model, data, cols), rtol=1e-6)


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_the_registered_model_checks_its_file_before_it_loads(algo, saved, tmp_path):
    _, original, digest = saved[algo]
    path = tmp_path / original.name
    path.write_bytes(original.read_bytes())
    ProbabilityModel().load_context(LocalContext(str(path), algo, COLUMNS, model_sha256=digest))
    marker = tmp_path / "ran"
    plant(path, marker)
    with pytest.raises(models.DigestMismatch) as exc:
        ProbabilityModel().load_context(LocalContext(str(path), algo, COLUMNS, model_sha256=digest))
    assert str(path) in one_line(exc) and not marker.exists()
    context = LocalContext(str(path), algo, COLUMNS, model_sha256=digest)
    del context.model_config["model_sha256"]  # a model registered before the digest went into its config
    with pytest.raises(StateError, match="no sha256 recorded"):
        ProbabilityModel().load_context(context)
    assert not marker.exists()


def test_the_serving_model_of_a_tracker_without_digest_is_refused(saved):
    _, path, _ = saved["lightgbm"]
    state = {"model_path": str(path), "model_type": "lightgbm", "model_version": "3"}
    with pytest.raises(StateError) as exc:
        serving_model(state, "week 2022-01-16 (weeks/2022-01-16/tracker.json)")
    said = one_line(exc)
    assert "the tracker of week 2022-01-16 (weeks/2022-01-16/tracker.json) records no model_sha256" in said
    assert str(path) in said


def test_the_serving_model_is_checked_before_it_is_loaded(saved, tmp_path):
    _, original, digest = saved["hist_gradient_boosting"]
    path = tmp_path / original.name
    path.write_bytes(original.read_bytes())
    state = {"model_path": str(path), "model_type": "hist_gradient_boosting", "model_version": "3",
             "model_sha256": digest}
    assert serving_model(state, "week 2022-01-16") is not None
    marker = tmp_path / "ran"
    planted = plant(path, marker)
    os.utime(path, ns=(1, 1))  # a new mtime: the model loaded before is not reused
    with pytest.raises(StateError) as exc:
        serving_model(state, "week 2022-01-16")
    said = one_line(exc)
    assert f"{path}, the model serving week 2022-01-16, is not the file registered as version 3" in said
    assert f"sha256 {sha256(planted)[:12]}... instead of {digest[:12]}..." in said
    assert not marker.exists()
