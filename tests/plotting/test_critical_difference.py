import matplotlib
import numpy as np
import pandas as pd
import pytest

from skcovid.plotting import plot_critical_difference
from skcovid.stats import compare_estimators, friedman_test

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RNG = np.random.RandomState(0)
SCORES = pd.DataFrame(RNG.rand(20, 7) + np.linspace(0.6, 0, 7),
                      columns=["densenet", "resnet", "vgg", "mtl", "drenet", "texture", "prior"])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _bars(artists):
    """Models under each crossbar drawn by scikit-posthocs, as sets of ranks."""
    return sorted(sorted(np.round(line.get_xdata(), 9)) for (line,) in artists)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cliques_equal_scikit_posthocs(seed):
    posthocs = pytest.importorskip("scikit_posthocs")
    scores = pd.DataFrame(np.random.RandomState(seed).rand(15, 6) + np.linspace(0.5, 0, 6),
                          columns=list("abcdef"))
    display = plot_critical_difference(scores)
    result = friedman_test(scores)
    _, ax = plt.subplots()
    theirs = posthocs.critical_difference_diagram(result.average_ranks, result.pairwise_pvalues,
                                                  ax=ax)
    ranks = display.average_ranks
    ours = sorted(sorted(np.round(ranks[clique].to_numpy(), 9)) for clique in display.cliques)
    assert ours == _bars(theirs["crossbars"])
    for clique in display.cliques:  # every pair inside a bar is within the critical difference
        assert ranks[clique].max() - ranks[clique].min() <= display.critical_difference


def test_diagram_draws_every_model_and_saves(tmp_path):
    display = plot_critical_difference(SCORES)
    texts = [t.get_text() for t in display.ax_.texts]
    for name, rank in display.average_ranks.items():
        assert f"{name} ({rank:.2f})" in texts
    assert any(t.startswith("CD = ") for t in texts)
    display.figure_.savefig(tmp_path / "cd.png")
    assert (tmp_path / "cd.png").stat().st_size > 5000


def test_from_comparison_and_errors():
    from sklearn.datasets import make_classification
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB

    X, y = make_classification(n_samples=120, random_state=0)
    models = {"logreg": LogisticRegression(), "nb": GaussianNB(), "prior": DummyClassifier()}
    comparison = compare_estimators(models, X, y, cv=5)
    display = plot_critical_difference(comparison)
    pd.testing.assert_series_equal(display.average_ranks, comparison.friedman.average_ranks)
    with pytest.raises(ValueError, match="computed at alpha=0.05"):
        plot_critical_difference(comparison.friedman, alpha=0.1)
    two = compare_estimators({"logreg": LogisticRegression(), "prior": DummyClassifier()}, X, y)
    with pytest.raises(ValueError, match="at least three models"):
        plot_critical_difference(two)
