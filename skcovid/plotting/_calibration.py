"""Reliability diagram with a confidence interval per bin and the Brier score."""

from numbers import Integral, Real

import numpy as np
from scipy import stats

from ..metrics._validation import binary_target, check_labels, check_same_length, check_scores
from ..utils._param_validation import Interval, Options, check_param
from ._common import estimator_scores, legend_below, new_axes


def _wilson_interval(successes, trials, ci):
    """Wilson score interval of binomial proportions (arrays)."""
    z = stats.norm.ppf(0.5 + ci / 2)
    p = successes / trials
    denominator = 1 + z**2 / trials
    center = (p + z**2 / (2 * trials)) / denominator
    half = z * np.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / denominator
    # the interval contains p; min/max only remove rounding errors at p = 0 or 1
    return np.minimum(center - half, p), np.maximum(center + half, p)


class CalibrationDisplay:
    """Reliability diagram: observed frequency of positives against mean probability.

    Like :class:`sklearn.calibration.CalibrationDisplay`, with a Wilson confidence
    interval on each bin's observed frequency (error bars) and the Brier score in the
    legend. Bins are those of :func:`sklearn.calibration.calibration_curve`; empty bins
    are left out.

    Parameters
    ----------
    prob_true : ndarray of shape (n_bins,)
        Fraction of positives in each non-empty bin.
    prob_pred : ndarray of shape (n_bins,)
        Mean predicted probability in each bin.
    counts : ndarray of shape (n_bins,)
        Samples per bin.
    ci_low, ci_high : ndarray of shape (n_bins,), default=None
        Interval of ``prob_true``.
    brier : float, default=None
        Brier score of the predictions.
    name : str, default=None
        Legend name.
    pos_label : int, float, bool or str, default=None
        The positive class.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The calibration curve.
    errorbar_ : matplotlib ErrorbarContainer
        The curve with its error bars (holds the legend label).
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skcovid.plotting import CalibrationDisplay
    >>> rng = np.random.RandomState(0)
    >>> proba = rng.rand(500)
    >>> y = rng.rand(500) < proba
    >>> display = CalibrationDisplay.from_predictions(y, proba, n_bins=5, name="model")
    >>> display.counts.tolist()
    [99, 106, 99, 98, 98]
    >>> display.errorbar_.get_label()
    'model (Brier = 0.167)'
    """

    def __init__(self, *, prob_true, prob_pred, counts, ci_low=None, ci_high=None,
                 brier=None, name=None, pos_label=None):
        self.prob_true = prob_true
        self.prob_pred = prob_pred
        self.counts = counts
        self.ci_low = ci_low
        self.ci_high = ci_high
        self.brier = brier
        self.name = name
        self.pos_label = pos_label

    def plot(self, ax=None, *, name=None, ref_line=True, **kwargs):
        """Draw the diagram.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure by default.
        name : str, default=None
            Legend name, overriding ``self.name``.
        ref_line : bool, default=True
            Draw the diagonal of perfect calibration.
        **kwargs
            Passed to ``ax.errorbar``.

        Returns
        -------
        self : CalibrationDisplay
        """
        ax = new_axes(ax)
        label = name or self.name or "Classifier"
        if self.brier is not None:
            label += f" (Brier = {self.brier:.3f})"
        yerr = None
        if self.ci_low is not None:
            yerr = np.vstack([self.prob_true - self.ci_low, self.ci_high - self.prob_true])
        kwargs = {"marker": "s", "capsize": 3, **kwargs}
        self.errorbar_ = ax.errorbar(self.prob_pred, self.prob_true, yerr=yerr, label=label,
                                     **kwargs)
        self.line_ = self.errorbar_.lines[0]
        if ref_line:
            ax.plot([0, 1], [0, 1], "k:", lw=1, label="Perfectly calibrated")
        ax.set(xlabel="Mean predicted probability", ylabel="Fraction of positives",
               xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), aspect="equal")
        legend_below(ax)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_predictions(cls, y_true, y_prob, *, n_bins=10, strategy="uniform",
                         pos_label=None, name=None, ci=0.95, ax=None, ref_line=True,
                         **kwargs):
        """Plot the reliability diagram of predicted probabilities.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True binary labels.
        y_prob : array-like of shape (n_samples,)
            Predicted probabilities of the positive class, within [0, 1].
        n_bins : int, default=10
            Number of bins.
        strategy : {"uniform", "quantile"}, default="uniform"
            Equal-width bins, or bins with equal numbers of samples.
        pos_label : int, float, bool or str, default=None
            The positive class; inferred only for {0, 1}, {-1, 1} and booleans.
        name : str, default=None
            Legend name.
        ci : float or None, default=0.95
            Level of the per-bin Wilson intervals; None draws no error bars.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        ref_line : bool, default=True
            Draw the diagonal.
        **kwargs
            Passed to ``ax.errorbar``.

        Returns
        -------
        display : CalibrationDisplay
        """
        name_ = "CalibrationDisplay.from_predictions"
        check_param(name_, "n_bins", n_bins, [Interval(Integral, 1, None)])
        check_param(name_, "strategy", strategy, [Options("uniform", "quantile")])
        check_param(name_, "ci", ci, [Interval(Real, 0, 1, closed="neither"), None])
        y_true = check_labels(y_true, "y_true")
        y_prob = check_scores(y_prob, "y_prob")
        check_same_length(y_true=y_true, y_prob=y_prob)
        if y_prob.min() < 0 or y_prob.max() > 1:
            raise ValueError(
                "y_prob must be probabilities within [0, 1]; got values in "
                f"[{y_prob.min():.3g}, {y_prob.max():.3g}]. Use predict_proba, not "
                "decision_function."
            )
        is_pos, pos_label = binary_target(y_true, pos_label)
        if strategy == "quantile":
            edges = np.quantile(y_prob, np.linspace(0, 1, n_bins + 1))
        else:
            edges = np.linspace(0, 1, n_bins + 1)
        bin_ids = np.searchsorted(edges[1:-1], y_prob)
        counts = np.bincount(bin_ids, minlength=n_bins)
        positives = np.bincount(bin_ids, weights=is_pos, minlength=n_bins)
        prob_sums = np.bincount(bin_ids, weights=y_prob, minlength=n_bins)
        kept = counts > 0
        counts, positives = counts[kept], positives[kept]
        low = high = None
        if ci is not None:
            low, high = _wilson_interval(positives, counts, ci)
        display = cls(
            prob_true=positives / counts, prob_pred=prob_sums[kept] / counts, counts=counts,
            ci_low=low, ci_high=high, brier=float(np.mean((y_prob - is_pos) ** 2)),
            name=name, pos_label=pos_label,
        )
        return display.plot(ax=ax, ref_line=ref_line, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, n_bins=10, strategy="uniform",
                       pos_label=None, name=None, ci=0.95, ax=None, ref_line=True,
                       **kwargs):
        """Plot the reliability diagram of a fitted classifier's ``predict_proba``.

        Parameters
        ----------
        estimator : fitted binary classifier
            Must have ``predict_proba``.
        X : array-like or DataFrame
            Input samples.
        y : array-like of shape (n_samples,)
            True labels.
        n_bins, strategy, pos_label, ci, ax, ref_line, **kwargs
            As in :meth:`from_predictions`.
        name : str, default=None
            Legend name; the estimator's class name by default.

        Returns
        -------
        display : CalibrationDisplay
        """
        y_prob, pos_label = estimator_scores(estimator, X, pos_label, "predict_proba")
        return cls.from_predictions(
            y, y_prob, n_bins=n_bins, strategy=strategy, pos_label=pos_label,
            name=name or type(estimator).__name__, ci=ci, ax=ax, ref_line=ref_line, **kwargs,
        )
