"""Demsar's critical-difference diagram of models ranked over folds or datasets."""

import numpy as np
import pandas as pd

from ..stats import ComparisonResult, FriedmanResult, friedman_test
from ._common import new_axes


def _cliques(average_ranks, pairwise_pvalues, alpha):
    """Maximal runs of models (by rank) that no Nemenyi test at ``alpha`` separates.

    Ranks lie on a line and the Nemenyi p-value falls as the rank gap grows, so the
    groups of mutually indistinguishable models are contiguous runs of the sorted
    models; runs inside a longer run and single models are dropped.
    """
    order = average_ranks.sort_values(kind="mergesort").index.tolist()
    runs, reach = [], -1
    for i, first in enumerate(order):
        end = i
        while end + 1 < len(order) and pairwise_pvalues.loc[first, order[end + 1]] >= alpha:
            end += 1
        if end > reach and end > i:
            runs.append(order[i:end + 1])
        reach = max(reach, end)
    return runs


class CriticalDifferenceDisplay:
    """Critical-difference diagram (Demsar, 2006): average ranks with the groups of
    models that the Nemenyi post-hoc test cannot tell apart.

    Build it with :func:`plot_critical_difference`.

    Parameters
    ----------
    average_ranks : pandas.Series
        Average rank of each model (1 is the best).
    critical_difference : float
        Nemenyi critical difference at level ``alpha``.
    cliques : list of list of str
        Groups of models joined by a bar: no pair inside a group differs significantly.
    alpha : float
        Significance level.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(self, *, average_ranks, critical_difference, cliques, alpha):
        self.average_ranks = average_ranks
        self.critical_difference = critical_difference
        self.cliques = cliques
        self.alpha = alpha

    def plot(self, *, ax=None):
        """Draw the diagram on ``ax`` (a new figure sized to the models if None)."""
        ranks = self.average_ranks.sort_values(kind="mergesort")
        k = len(ranks)
        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.subplots(figsize=(7, 1.6 + 0.28 * ((k + 1) // 2 + len(self.cliques))))[1]
        ax = new_axes(ax)
        low, high = 1, max(k, int(np.ceil(ranks.max())))
        step = 0.25  # vertical spacing in data units
        ax.hlines(0, low, high, color="black", linewidth=1)
        for tick in range(low, high + 1):
            ax.vlines(tick, 0, 0.08, color="black", linewidth=1)
            ax.text(tick, 0.12, str(tick), ha="center", va="bottom", fontsize=9)
        cd_y = 0.55
        ax.hlines(cd_y, low, low + self.critical_difference, color="black", linewidth=1.5)
        ax.vlines([low, low + self.critical_difference], cd_y - 0.05, cd_y + 0.05, color="black")
        ax.text(low + self.critical_difference / 2, cd_y + 0.07,
                f"CD = {self.critical_difference:.2f} (Nemenyi, alpha = {self.alpha:g})",
                ha="center", va="bottom", fontsize=9)
        for level, clique in enumerate(self.cliques):
            y = -step * (level + 1) * 0.8
            ax.plot([ranks[clique].min() - 0.03, ranks[clique].max() + 0.03], [y, y],
                    color="black", linewidth=4, solid_capstyle="round")
        first_label = -step * (len(self.cliques) * 0.8 + 1)
        half = (k + 1) // 2
        for i, (name, rank) in enumerate(ranks.items()):
            left = i < half
            y = first_label - step * (i if left else k - 1 - i)
            x_text = low - 0.15 if left else high + 0.15
            ax.plot([rank, rank, x_text], [0, y, y], color="0.35", linewidth=1)
            ax.text(x_text - 0.05 if left else x_text + 0.05, y, f"{name} ({rank:.2f})",
                    ha="right" if left else "left", va="center", fontsize=9)
        bottom = first_label - step * (half - 1) - step
        ax.set_xlim(low - 1.6, high + 1.6)
        ax.set_ylim(bottom, cd_y + 0.35)
        ax.axis("off")
        self.ax_, self.figure_ = ax, ax.figure
        return self


def plot_critical_difference(scores, *, alpha=0.05, greater_is_better=True, ax=None):
    """Plot Demsar's critical-difference diagram of several models.

    Models sit on an axis of average rank (1 = best, on the left); a bar above shows
    the Nemenyi critical difference (CD); thick bars join groups of models whose
    average ranks differ by no more than CD, i.e. that the post-hoc test cannot tell
    apart at level ``alpha``.

    Parameters
    ----------
    scores : DataFrame, FriedmanResult or ComparisonResult
        Scores with one row per fold (or dataset) and one column per model (ranked by
        :func:`skcovid.stats.friedman_test`), or a result that holds them: the
        ``friedman`` of :func:`skcovid.stats.compare_estimators`, or a
        :class:`~skcovid.stats.FriedmanResult` (then ``alpha`` must be its own).
    alpha : float, default=0.05
        Significance level of the critical difference.
    greater_is_better : bool, default=True
        Whether a higher score is better (for ``scores`` given as a table).
    ax : matplotlib Axes, default=None
        Axes to draw on; by default a new figure.

    Returns
    -------
    display : CriticalDifferenceDisplay
        ``average_ranks``, ``critical_difference``, ``cliques``, ``ax_`` and ``figure_``.

    Notes
    -----
    Demsar designed the diagram for models compared on several independent datasets;
    folds of one dataset are correlated, so read it as a summary rather than a test.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skcovid.plotting import plot_critical_difference
    >>> scores = pd.DataFrame({"resnet": [0.91, 0.88, 0.90, 0.92, 0.89, 0.90],
    ...                        "vgg": [0.86, 0.87, 0.85, 0.90, 0.84, 0.86],
    ...                        "mtl": [0.90, 0.89, 0.88, 0.91, 0.90, 0.89],
    ...                        "prior": [0.50, 0.52, 0.51, 0.50, 0.49, 0.50]})
    >>> display = plot_critical_difference(scores)
    >>> display.average_ranks.round(2).to_dict()
    {'resnet': 1.33, 'vgg': 3.0, 'mtl': 1.67, 'prior': 4.0}
    >>> display.cliques
    [['resnet', 'mtl', 'vgg'], ['vgg', 'prior']]
    """
    if isinstance(scores, ComparisonResult):
        if scores.friedman is None:
            raise ValueError(
                "This comparison has two models and no Friedman test; a critical-difference "
                "diagram needs at least three models."
            )
        scores = scores.friedman
    if isinstance(scores, FriedmanResult):
        if scores.alpha != alpha:
            raise ValueError(
                f"The FriedmanResult was computed at alpha={scores.alpha}, not alpha={alpha}; "
                "pass the same alpha, or the scores table."
            )
        result = scores
    else:
        result = friedman_test(pd.DataFrame(scores), alpha=alpha,
                               greater_is_better=greater_is_better)
    display = CriticalDifferenceDisplay(
        average_ranks=result.average_ranks,
        critical_difference=result.critical_difference,
        cliques=_cliques(result.average_ranks, result.pairwise_pvalues, alpha),
        alpha=alpha,
    )
    return display.plot(ax=ax)
