"""The embedding cache: grid searches forward each image once, disk entries cross processes."""

import os
import shutil
import stat
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from joblib import Parallel, delayed
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skcovid.embedders import (
    EmbeddingCache,
    FineTunedEmbedder,
    PretrainedEmbedder,
    forward_pass_count,
    reset_forward_pass_count,
)
from skcovid.embedders._cache import DiskStore
from skcovid.preprocessing import ScanReadError


def _emb(**kwargs):
    params = dict(image_size=32, random_state=0, device="cpu", batch_size=8)
    params.update(kwargs)
    return PretrainedEmbedder(**params)


def _numeric(frame):
    return frame.filter(like="emb_").to_numpy()


def test_grid_search_forwards_each_image_once(synthetic_scans):
    X, y = synthetic_scans.data.iloc[:30], synthetic_scans.target[:30]
    pipe = Pipeline([("emb", _emb(cache=True).set_output(transform="default")),
                     ("clf", RidgeClassifier())])
    search = GridSearchCV(pipe, {"clf__alpha": [0.1, 1.0, 10.0]}, cv=3).fit(X, y)
    assert forward_pass_count() == len(X)  # 3 folds x 3 settings + refit, one pass per image
    assert search.best_estimator_.named_steps["emb"].n_images_forwarded_ == 0  # the refit read the cache
    GridSearchCV(pipe, {"clf__alpha": [0.5]}, cv=2).fit(X, y)
    assert forward_pass_count() == len(X)
    GridSearchCV(pipe.set_params(emb__cache=None), {"clf__alpha": [0.1, 1.0]}, cv=2).fit(X, y)
    assert forward_pass_count() == len(X) + 2 * 2 * len(X) + len(X)  # without cache: every fit and score


def test_cached_values_equal_fresh_values_and_duplicates_forward_once(synthetic_scans):
    X = synthetic_scans.data.iloc[:6]
    doubled = X.iloc[[0, 1, 2, 0, 1, 2]]
    cached = _emb(cache=True).fit(doubled)
    first = cached.transform(doubled)
    assert cached.n_images_forwarded_ == 3
    np.testing.assert_array_equal(_numeric(first)[:3], _numeric(first)[3:])
    fresh = _emb().fit(X).transform(X)
    again = cached.transform(X)
    assert cached.n_images_forwarded_ == 6  # only rows 3-5 were new
    np.testing.assert_allclose(_numeric(again), _numeric(fresh), rtol=1e-4, atol=1e-5)


def test_key_changes_with_preprocessing_pooling_and_seed(synthetic_scans):
    X = synthetic_scans.data.iloc[:4]
    _emb(cache=True).fit(X).transform(X)
    for changed in (dict(image_size=40), dict(pooling="max"), dict(random_state=1), dict(ct_opening=3)):
        before = forward_pass_count()
        _emb(cache=True, **changed).fit(X).transform(X)
        assert forward_pass_count() == before + len(X), changed


def test_file_key_follows_mtime(synthetic_folder, tmp_path):
    _, bunch = synthetic_folder
    X = bunch.data.iloc[:3]
    emb = _emb(cache=tmp_path / "cache").fit(X)
    emb.transform(X)
    emb.transform(X)
    assert emb.n_images_forwarded_ == 3
    path = X["image"].iloc[0]
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    emb.transform(X)
    assert emb.n_images_forwarded_ == 4


def _embed_in_worker(X, directory):
    from skcovid.embedders import forward_pass_count, reset_forward_pass_count

    reset_forward_pass_count()
    out = _emb(cache=directory).fit(X).transform(X)
    return os.getpid(), forward_pass_count(), _numeric(out)


def test_directory_cache_is_shared_across_processes(synthetic_scans, tmp_path):
    X = synthetic_scans.data.iloc[:8]
    directory = str(tmp_path / "cache")
    pid, forwarded, first = _embed_in_worker(X, directory)
    assert forwarded == len(X)
    assert len(list((tmp_path / "cache").rglob("*.emb"))) == len(X)
    assert not list((tmp_path / "cache").rglob("*.tmp"))
    [(worker_pid, worker_forwarded, second)] = Parallel(n_jobs=2, backend="loky")(
        [delayed(_embed_in_worker)(X, directory)]
    )
    assert worker_pid != pid
    assert worker_forwarded == 0
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupt_disk_entry_is_recomputed(synthetic_scans, tmp_path, damage):
    X = synthetic_scans.data.iloc[:3]
    emb = _emb(cache=tmp_path).fit(X)
    reference = _numeric(emb.transform(X))
    victim = sorted(tmp_path.rglob("*.emb"))[0]
    blob = bytearray(victim.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "flip":
        blob[-5] ^= 0xFF
    else:
        blob = bytearray(b"not an embedding" * 10)
    victim.write_bytes(bytes(blob))
    with pytest.warns(UserWarning, match="corrupt"):
        again = _numeric(emb.transform(X))
    assert emb.n_images_forwarded_ == 4
    np.testing.assert_allclose(again, reference, rtol=1e-4, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emb.transform(X)  # the entry was rewritten
    assert emb.n_images_forwarded_ == 4


def test_disk_store_round_trip_and_dimension_check(tmp_path):
    store = DiskStore(tmp_path)
    vector = np.arange(5, dtype=np.float32)
    store.put("ab" * 16, vector)
    np.testing.assert_array_equal(store.get("ab" * 16, 5), vector)
    assert store.get("cd" * 16, 5) is None
    with pytest.warns(UserWarning, match="corrupt"):
        assert store.get("ab" * 16, 6) is None


def test_finetuned_fits_do_not_collide(synthetic_scans):
    data = synthetic_scans
    mask = (data.data["modality"] == "xray").to_numpy()
    X, y = data.data[mask].iloc[:16], data.target[mask][:16]
    params = dict(hidden=6, image_size=32, max_epochs=1, validation_fraction=None, freeze=5,
                  cache=True, device="cpu")
    a = FineTunedEmbedder(random_state=0, **params).fit(X, y)
    b = FineTunedEmbedder(random_state=1, **params).fit(X, y)
    assert a.weights_fingerprint_ != b.weights_fingerprint_
    first, second = _numeric(a.transform(X)), _numeric(b.transform(X))
    assert a.n_images_forwarded_ == b.n_images_forwarded_ == len(X)
    assert not np.allclose(first, second)


def test_entries_are_saved_batch_by_batch_when_a_later_file_fails(synthetic_folder, tmp_path):
    _, bunch = synthetic_folder
    X = bunch.data.iloc[:9].copy()
    bad = tmp_path / "truncated.png"
    bad.write_bytes(open(X["image"].iloc[0], "rb").read()[:40])
    X = pd.concat([X, X.iloc[[0]].assign(image=str(bad))], ignore_index=True)  # row 9: batch 3 of 4
    emb = _emb(cache=tmp_path / "cache", batch_size=3).fit(X)
    with pytest.raises(ScanReadError, match="truncated.png"):
        emb.transform(X)
    assert len(list((tmp_path / "cache").rglob("*.emb"))) == 9  # the three finished batches
    reset_forward_pass_count()
    emb.transform(X.iloc[:9])
    assert forward_pass_count() == 0


def test_interrupted_transform_keeps_finished_batches(synthetic_scans, tmp_path, monkeypatch):
    X = synthetic_scans.data.iloc[:8]
    emb = _emb(cache=tmp_path, batch_size=2).fit(X)
    batches = emb._forward_batches

    def interrupted(table):
        for i, chunk in enumerate(batches(table)):
            if i == 3:
                raise KeyboardInterrupt
            yield chunk

    monkeypatch.setattr(emb, "_forward_batches", interrupted)
    with pytest.raises(KeyboardInterrupt):
        emb.transform(X)
    assert len(list(tmp_path.rglob("*.emb"))) == 6
    assert not list(tmp_path.rglob("*.tmp"))


def test_read_only_cache_warns_and_computes(synthetic_scans, tmp_path, monkeypatch):
    X = synthetic_scans.data.iloc[:6]
    reference = _numeric(_emb(cache=tmp_path).fit(X).transform(X.iloc[:3]))  # partly filled
    emb = _emb(cache=tmp_path).fit(X)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", refuse)  # what a read-only folder does to new files (root ignores chmod)
    with pytest.warns(UserWarning, match=r"cannot be written.*Permission denied.*not saved"):
        out = _numeric(emb.transform(X))
    assert emb.n_images_forwarded_ == 3  # the 3 cached rows were read, the others computed
    np.testing.assert_allclose(out[:3], reference, rtol=1e-4, atol=1e-5)
    assert len(list(tmp_path.rglob("*.emb"))) == 3
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder_is_detected(synthetic_scans, tmp_path):
    X = synthetic_scans.data.iloc[:2]
    tmp_path.chmod(0o555)
    try:
        with pytest.warns(UserWarning, match="cannot be written"):
            _emb(cache=tmp_path).fit(X).transform(X)
    finally:
        tmp_path.chmod(0o755)


def test_entries_follow_the_umask_so_a_shared_cache_is_group_readable(tmp_path):
    previous = os.umask(0o022)
    try:
        store = DiskStore(tmp_path)
        store.put("ab" * 16, np.arange(3, dtype=np.float32))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(store.path("ab" * 16).stat().st_mode) == 0o644


def test_content_key_survives_copies_and_touches(synthetic_folder, tmp_path):
    _, bunch = synthetic_folder
    X = bunch.data[bunch.data["modality"] == "xray"].iloc[:3]  # one modality: keys differ by image only
    copies = X.assign(image=[shutil.copy(p, tmp_path / f"copy-{i}.png") for i, p in enumerate(X["image"])])
    by_content = _emb(cache=EmbeddingCache(tmp_path / "c", key="content")).fit(X)
    first = _numeric(by_content.transform(X))
    np.testing.assert_array_equal(_numeric(by_content.transform(copies)), first)
    assert by_content.n_images_forwarded_ == 3
    by_path = _emb(cache=EmbeddingCache(tmp_path / "p")).fit(X)
    by_path.transform(X)
    by_path.transform(copies)
    assert by_path.n_images_forwarded_ == 6  # path keys: a copy is a new image
    Path(copies["image"].iloc[0]).write_bytes(Path(X["image"].iloc[1]).read_bytes())
    np.testing.assert_array_equal(_numeric(by_content.transform(copies.iloc[[0]])), first[[1]])
    assert by_content.n_images_forwarded_ == 3
    with pytest.raises(ValueError, match="key must be 'path' or 'content'"):
        EmbeddingCache(key="sha")
