import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.metrics import confusion_matrix

from skcovid.plotting import ConfusionMatrixDisplay, plot_confusion_matrices

from ._layout import assert_axes_labelled, assert_readable

RNG = np.random.RandomState(0)
LABELS = np.array(["COVID", "Non_COVID"])
Y = LABELS[RNG.randint(2, size=90)]
PRED = np.where(RNG.rand(90) < 0.8, Y, LABELS[RNG.randint(2, size=90)])
MODALITY = np.array(["xray", "ct", "xray"])[np.arange(90) % 3]


def test_one_panel_per_group_with_matching_matrices():
    display = plot_confusion_matrices(Y, PRED, by=MODALITY)
    assert len(display.ax_) == 2 and len(display.figure_.axes) == 2
    assert [ax.get_title() for ax in display.ax_] == ["ct (n = 30)", "xray (n = 60)"]
    for group in ("ct", "xray"):
        rows = MODALITY == group
        np.testing.assert_array_equal(display.confusion_matrices[group],
                                      confusion_matrix(Y[rows], PRED[rows], labels=LABELS))
    ticks = [t.get_text() for t in display.ax_[0].get_xticklabels()]
    assert ticks == ["COVID", "Non_COVID"]


def test_single_panel_normalized_and_given_axes():
    import matplotlib.pyplot as plt

    display = plot_confusion_matrices(Y, PRED, normalize="true")
    assert len(display.ax_) == 1 and display.ax_[0].get_title() == "all (n = 90)"
    np.testing.assert_allclose(display.confusion_matrices["all"].sum(axis=1), 1.0)
    _, axes = plt.subplots(2, 1)
    display = ConfusionMatrixDisplay.from_predictions(Y, PRED, by=MODALITY, axes=axes,
                                                      values_format=".0f")
    assert list(display.ax_) == list(axes)
    with pytest.raises(ValueError, match="one axes per group"):
        plot_confusion_matrices(Y, PRED, by=MODALITY, axes=axes[:1])


def test_groups_share_labels_even_when_missing_from_one():
    by = np.where(Y == "COVID", "a", "b")
    display = plot_confusion_matrices(Y, PRED, by=by)
    assert all(cm.shape == (2, 2) for cm in display.confusion_matrices.values())


def test_from_estimator_with_modality_column():
    table = pd.DataFrame({"feature": RNG.rand(90), "modality": MODALITY})
    model = DummyClassifier(strategy="most_frequent").fit(table, Y)
    display = ConfusionMatrixDisplay.from_estimator(model, table, Y, by="modality")
    assert set(display.confusion_matrices) == {"ct", "xray"}
    with pytest.raises(ValueError, match="names no column"):
        ConfusionMatrixDisplay.from_estimator(model, table, Y, by="patient")


def test_default_figure_reads_well():
    display = plot_confusion_matrices(Y, PRED, by=MODALITY)
    for ax in display.ax_:
        assert_axes_labelled(ax)
    assert_readable(display.figure_)


def test_long_class_names_are_wrapped_to_fit():
    labels = np.array(["COVID", "Non_COVID_pneumonia", "Normal lungs (healthy)"])
    y_true, y_pred = labels[np.arange(90) % 3], labels[RNG.randint(3, size=90)]
    display = plot_confusion_matrices(y_true, y_pred, by=MODALITY)
    ticks = [t.get_text() for t in display.ax_[0].get_yticklabels()]
    assert ticks == ["COVID", "Non_COVID_\npneumonia", "Normal lungs\n(healthy)"]
    unwrapped = [t.get_text().replace("\n", " ").replace("_ ", "_") for t in display.ax_[1].get_xticklabels()]
    assert unwrapped == list(labels)
    assert display.display_labels.tolist() == labels.tolist()  # only the ticks are wrapped
    assert_readable(display.figure_)
