"""ROC curve display with the DeLong confidence interval of the AUC in the legend."""

from sklearn.metrics import auc, roc_curve

from ..metrics._validation import binary_target, check_labels, check_same_length, check_scores
from ..stats import auc_ci
from ._common import estimator_scores, legend_below, new_axes


class RocCurveDisplay:
    """ROC curve whose legend reports the AUC and its DeLong confidence interval.

    Build it with :meth:`from_predictions` or :meth:`from_estimator`; call
    :meth:`plot` again with ``ax=`` to overlay several curves on one axes.

    Parameters
    ----------
    fpr, tpr : ndarray
        False and true positive rates of the curve.
    roc_auc : float, default=None
        Area under the curve.
    auc_ci : tuple of float, default=None
        Confidence interval of the AUC.
    ci : float, default=0.95
        Level of ``auc_ci``.
    name : str, default=None
        Name of the curve in the legend.
    pos_label : int, float, bool or str, default=None
        The positive class.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The ROC curve.
    chance_level_ : matplotlib Line2D or None
        The diagonal, when plotted.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure containing the curve.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skcovid.plotting import RocCurveDisplay
    >>> display = RocCurveDisplay.from_predictions(
    ...     [0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.7], name="model")
    >>> display.line_.get_label()
    'model (AUC = 0.889, 95% CI 0.581-1.000)'
    """

    def __init__(self, *, fpr, tpr, roc_auc=None, auc_ci=None, ci=0.95, name=None,
                 pos_label=None):
        self.fpr = fpr
        self.tpr = tpr
        self.roc_auc = roc_auc
        self.auc_ci = auc_ci
        self.ci = ci
        self.name = name
        self.pos_label = pos_label

    def _label(self, name):
        label = name or self.name or "Classifier"
        if self.roc_auc is None:
            return label
        details = f"AUC = {self.roc_auc:.3f}"
        if self.auc_ci is not None:
            low, high = self.auc_ci
            details += f", {self.ci:.0%} CI {low:.3f}-{high:.3f}"
        return f"{label} ({details})"

    def plot(self, ax=None, *, name=None, plot_chance_level=False, **kwargs):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure by default.
        name : str, default=None
            Legend name, overriding ``self.name``.
        plot_chance_level : bool, default=False
            Also draw the diagonal of a random classifier.
        **kwargs
            Passed to ``ax.plot`` for the curve.

        Returns
        -------
        self : RocCurveDisplay
        """
        ax = new_axes(ax)
        (self.line_,) = ax.plot(self.fpr, self.tpr, label=self._label(name), **kwargs)
        self.chance_level_ = None
        if plot_chance_level:
            (self.chance_level_,) = ax.plot([0, 1], [0, 1], "k--", lw=1,
                                            label="Chance level (AUC = 0.5)")
        ax.set(xlabel="False positive rate (1 - specificity)",
               ylabel="True positive rate (sensitivity)",
               xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), aspect="equal")
        legend_below(ax)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_predictions(cls, y_true, y_score, *, pos_label=None, name=None, ci=0.95,
                         ax=None, plot_chance_level=False, **kwargs):
        """Plot the ROC curve of scores, with the DeLong CI of the AUC.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True binary labels.
        y_score : array-like of shape (n_samples,)
            Scores of the positive class.
        pos_label : int, float, bool or str, default=None
            The positive class; inferred only for {0, 1}, {-1, 1} and booleans.
        name : str, default=None
            Legend name.
        ci : float or None, default=0.95
            Level of the AUC interval; None leaves it out.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        plot_chance_level : bool, default=False
            Also draw the diagonal.
        **kwargs
            Passed to ``ax.plot``.

        Returns
        -------
        display : RocCurveDisplay
        """
        y_true = check_labels(y_true, "y_true")
        y_score = check_scores(y_score, "y_score")
        check_same_length(y_true=y_true, y_score=y_score)
        is_pos, pos_label = binary_target(y_true, pos_label)
        fpr, tpr, _ = roc_curve(is_pos, y_score)
        interval = None if ci is None else auc_ci(is_pos, y_score, ci=ci)
        display = cls(fpr=fpr, tpr=tpr, roc_auc=auc(fpr, tpr), auc_ci=interval, ci=ci,
                      name=name, pos_label=pos_label)
        return display.plot(ax=ax, plot_chance_level=plot_chance_level, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, response_method="auto", pos_label=None,
                       name=None, ci=0.95, ax=None, plot_chance_level=False, **kwargs):
        """Plot the ROC curve of a fitted binary classifier on ``(X, y)``.

        Parameters
        ----------
        estimator : fitted classifier
            Uses ``predict_proba`` or ``decision_function``.
        X : array-like or DataFrame
            Input samples.
        y : array-like of shape (n_samples,)
            True labels.
        response_method : {"auto", "predict_proba", "decision_function"}, default="auto"
            Which scores to use.
        pos_label : int, float, bool or str, default=None
            The positive class among ``estimator.classes_``.
        name : str, default=None
            Legend name; the estimator's class name by default.
        ci : float or None, default=0.95
            Level of the AUC interval.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        plot_chance_level : bool, default=False
            Also draw the diagonal.
        **kwargs
            Passed to ``ax.plot``.

        Returns
        -------
        display : RocCurveDisplay
        """
        y_score, pos_label = estimator_scores(estimator, X, pos_label, response_method)
        return cls.from_predictions(
            y, y_score, pos_label=pos_label, name=name or type(estimator).__name__, ci=ci,
            ax=ax, plot_chance_level=plot_chance_level, **kwargs,
        )
