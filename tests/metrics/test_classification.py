import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import confusion_matrix, precision_score, recall_score

from skcovid.metrics import npv_score, sensitivity_score, specificity_score

RNG = np.random.RandomState(0)
Y_BIN = RNG.randint(2, size=80)
P_BIN = np.where(RNG.rand(80) < 0.75, Y_BIN, 1 - Y_BIN)
Y_MULTI = RNG.randint(3, size=90)
P_MULTI = np.where(RNG.rand(90) < 0.6, Y_MULTI, RNG.randint(3, size=90))
WEIGHTS = RNG.rand(90)


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
def test_sensitivity_equals_recall_multiclass(average):
    ours = sensitivity_score(Y_MULTI, P_MULTI, average=average, sample_weight=WEIGHTS)
    theirs = recall_score(Y_MULTI, P_MULTI, average=average, sample_weight=WEIGHTS)
    np.testing.assert_allclose(ours, theirs)


def test_binary_scores_match_confusion_matrix():
    tn, fp, fn, tp = confusion_matrix(Y_BIN, P_BIN).ravel()
    assert sensitivity_score(Y_BIN, P_BIN) == pytest.approx(tp / (tp + fn))
    assert specificity_score(Y_BIN, P_BIN) == pytest.approx(tn / (tn + fp))
    assert npv_score(Y_BIN, P_BIN) == pytest.approx(tn / (tn + fn))
    # specificity is the recall and NPV the precision of the negative class
    assert specificity_score(Y_BIN, P_BIN) == pytest.approx(recall_score(Y_BIN, P_BIN, pos_label=0))
    assert npv_score(Y_BIN, P_BIN) == pytest.approx(precision_score(Y_BIN, P_BIN, pos_label=0))


def test_multiclass_specificity_and_npv_per_class():
    cm = confusion_matrix(Y_MULTI, P_MULTI)
    total = cm.sum()
    tp = np.diag(cm)
    fp, fn = cm.sum(axis=0) - tp, cm.sum(axis=1) - tp
    tn = total - tp - fp - fn
    np.testing.assert_allclose(specificity_score(Y_MULTI, P_MULTI, average=None), tn / (tn + fp))
    np.testing.assert_allclose(npv_score(Y_MULTI, P_MULTI, average=None), tn / (tn + fn))
    assert specificity_score(Y_MULTI, P_MULTI, average="macro") == pytest.approx(np.mean(tn / (tn + fp)))
    assert specificity_score(Y_MULTI, P_MULTI, average="micro") == pytest.approx(tn.sum() / (tn + fp).sum())
    support = tp + fn
    assert npv_score(Y_MULTI, P_MULTI, average="weighted") == pytest.approx(
        np.average(tn / (tn + fn), weights=support)
    )


def test_labels_restrict_the_average():
    ours = specificity_score(Y_MULTI, P_MULTI, labels=[0, 2], average=None)
    np.testing.assert_allclose(ours, specificity_score(Y_MULTI, P_MULTI, average=None)[[0, 2]])


def test_string_labels_need_pos_label():
    y = np.where(Y_BIN == 1, "COVID", "Non_COVID")
    p = np.where(P_BIN == 1, "COVID", "Non_COVID")
    assert sensitivity_score(y, p, pos_label="COVID") == pytest.approx(sensitivity_score(Y_BIN, P_BIN))
    # the specificity of one class is the sensitivity of the other
    assert specificity_score(y, p, pos_label="Non_COVID") == pytest.approx(
        sensitivity_score(Y_BIN, P_BIN)
    )
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label.*pos_label="):
        sensitivity_score(y, p)
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label"):
        sensitivity_score(["COVID", "COVID"], ["COVID", "COVID"])


def test_binary_average_on_multiclass_target_fails():
    with pytest.raises(ValueError, match="average='macro'"):
        specificity_score(Y_MULTI, P_MULTI)


def test_zero_division():
    with pytest.warns(UndefinedMetricWarning, match="zero_division"):
        assert sensitivity_score([0, 0], [0, 1]) == 0.0
    assert np.isnan(sensitivity_score([0, 0], [0, 1], zero_division=np.nan))
    assert npv_score([1, 1], [1, 1], zero_division=1.0) == 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [({"average": "samples"}, "'average' parameter of sensitivity_score"),
     ({"zero_division": 2}, "'zero_division' parameter")],
)
def test_bad_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sensitivity_score(Y_BIN, P_BIN, **kwargs)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="y_true has 80, y_pred has 79"):
        npv_score(Y_BIN, P_BIN[:-1])
    with pytest.raises(ValueError, match="y_pred contains 1 missing"):
        specificity_score([0.0, 1.0], [0.0, np.nan])
