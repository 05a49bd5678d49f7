import numpy as np
import pytest
from skorch.history import History

from skcovid.plotting import HistoryDisplay, plot_history

from ._layout import assert_axes_labelled, assert_legend_off_the_data, assert_readable


def _history(n_epochs=30):
    history = History()
    for epoch in range(1, n_epochs + 1):
        history.new_epoch()
        history.record("epoch", epoch)
        history.record("train_loss", 0.7 * 0.9**epoch)
        history.record("valid_acc", 0.5 + epoch / 100)
        if epoch % 2 == 0:  # validated every other epoch only
            history.record("valid_loss", 0.72 * 0.92**epoch + 0.01 * epoch)
    return history


def test_plots_every_loss_with_labelled_axes():
    history = _history()
    display = plot_history(history)
    assert list(display.lines_) == ["train_loss", "valid_loss"]
    np.testing.assert_allclose(display.lines_["train_loss"].get_ydata(), history[:, "train_loss"])
    valid = display.lines_["valid_loss"].get_ydata()
    assert np.isnan(valid[0]) and valid[1] == pytest.approx(0.72 * 0.92**2 + 0.02)
    np.testing.assert_array_equal(display.lines_["train_loss"].get_xdata(), np.arange(1, 31))
    assert (display.ax_.get_xlabel(), display.ax_.get_ylabel()) == ("epoch", "loss")
    assert_axes_labelled(display.ax_)
    assert_legend_off_the_data(display.ax_)
    assert_readable(display.figure_)


def test_chosen_keys_ylabel_and_estimator():
    class Fitted:
        history_ = _history(5)

    display = HistoryDisplay.from_estimator(Fitted(), ["valid_acc"])
    assert display.ax_.get_ylabel() == "valid acc"
    display = plot_history(Fitted.history_, ["train_loss", "valid_acc"], ylabel="value")
    assert display.ax_.get_ylabel() == "value"
    assert plot_history(Fitted.history_, ["train_loss", "valid_acc"]).ax_.get_ylabel() == (
        "train loss, valid acc")


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="no entry 'valid_auc'.*records"):
        plot_history(_history(3), ["valid_auc"])
    with pytest.raises(ValueError, match="ending in loss"):
        plot_history([{"epoch": 1, "valid_acc": 0.5}])
    with pytest.raises(ValueError, match="history is empty"):
        plot_history([])
    with pytest.raises(ValueError, match="has no history_"):
        HistoryDisplay.from_estimator(object())
