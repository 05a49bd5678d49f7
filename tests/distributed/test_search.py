"""GridSearchCV, cross_validate and compare_estimators under joblib's dask backend: local results,
and each image through the network once per search thanks to the shared folder cache."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline

from skcovid.distributed import fill_embedding_cache
from skcovid.embedders import PretrainedEmbedder, forward_pass_count, reset_forward_pass_count
from skcovid.stats import compare_estimators


def pipeline(cache, C=1.0):
    embed = PretrainedEmbedder("resnet18", image_size=32, random_state=0, device="cpu", cache=cache)
    return make_pipeline(embed.set_output(transform="default"), LogisticRegression(C=C, max_iter=2000))


def searches(X, y, cache):
    """The three searches, each with n_jobs=-1 (joblib's active backend decides where they run)."""
    groups, cv = X["patient"], GroupKFold(3)
    grid = GridSearchCV(pipeline(cache), {"logisticregression__C": [0.01, 1.0, 100.0]}, cv=cv, n_jobs=-1)
    grid.fit(X, y, groups=groups)
    scores = cross_validate(pipeline(cache), X, y, groups=groups, cv=cv, n_jobs=-1)["test_score"]
    comparison = compare_estimators({"cnn": pipeline(cache), "dummy": DummyClassifier()}, X, y, cv=3,
                                    groups=groups, n_jobs=-1)
    return grid, scores, comparison


@pytest.fixture(scope="module")
def local(scans, tmp_path_factory):
    X, y = scans
    with joblib.parallel_backend("sequential"):
        return searches(X, y, str(tmp_path_factory.mktemp("local-cache")))


def test_searches_on_the_cluster_equal_local_ones_and_forward_each_image_once(client, scans, local,
                                                                               tmp_path):
    X, y = scans
    cache = str(tmp_path / "shared-cache")
    client.run(reset_forward_pass_count)
    reset_forward_pass_count()
    assert fill_embedding_cache(pipeline(cache)[0].fit(X), X, scheduler=client, chunksize=16) == len(X)
    with joblib.parallel_backend("dask"):
        grid, scores, comparison = searches(X, y, cache)
    # every fit ran on the workers and read the cache: 60 images forwarded for 3 searches (78 fits)
    assert sum(client.run(forward_pass_count).values()) == len(X) and forward_pass_count() == 0
    local_grid, local_scores, local_comparison = local
    assert grid.best_params_ == local_grid.best_params_
    np.testing.assert_allclose(grid.cv_results_["mean_test_score"], local_grid.cv_results_["mean_test_score"],
                               rtol=0, atol=1e-5)
    np.testing.assert_allclose(scores, local_scores, rtol=0, atol=1e-5)
    np.testing.assert_allclose(comparison.scores, local_comparison.scores, rtol=0, atol=1e-5)
    np.testing.assert_allclose(comparison.pairwise["pvalue"], local_comparison.pairwise["pvalue"], atol=1e-5)
