"""Atomic writes, and what an interrupted one leaves behind."""
import pandas as pd

from weekly.io import atomic_dir, read_json, write_json, write_parquet


def test_a_write_cut_by_kill_leaves_a_temporary_sibling_that_the_next_write_removes(tmp_path):
    # kill -9 between the temporary file and the rename leaves `.<name>.<random>.tmp`
    (tmp_path / ".tracker.json.0123456789ab.tmp").write_text('{"half": ')
    (tmp_path / ".preds.parquet.ba9876543210.tmp").write_bytes(b"PAR1")
    (tmp_path / ".lightgbm.0a1b2c3d4e5f.tmp").mkdir()
    (tmp_path / ".lightgbm.0a1b2c3d4e5f.tmp" / "model.txt").write_text("half a model")
    (tmp_path / ".other.json.0123456789ab.tmp").write_text("another file's: left alone")

    write_json(tmp_path / "tracker.json", {"week": "2022-01-16"})
    write_parquet(tmp_path / "preds.parquet", pd.DataFrame({"a": [1]}))
    with atomic_dir(tmp_path / "lightgbm") as folder:
        (folder / "model.txt").write_text("a model")

    assert read_json(tmp_path / "tracker.json") == {"week": "2022-01-16"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".other.json.0123456789ab.tmp", "lightgbm", "preds.parquet", "tracker.json"]
    assert (tmp_path / "lightgbm" / "model.txt").read_text() == "a model"


def test_a_corrupt_state_file_is_named_with_what_to_do(tmp_path):
    import pytest

    from weekly.errors import StateError

    (tmp_path / "tracker.json").write_text('{"week": "2022-01-16", "model_ver')
    with pytest.raises(StateError, match=r"tracker.json: not valid JSON \(.*line 1\).*delete it and run the chain again"):
        read_json(tmp_path / "tracker.json")
