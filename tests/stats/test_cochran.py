import numpy as np
import pytest
from scipy import stats

from skcovid.stats import cochrans_q, mcnemar_test

RNG = np.random.RandomState(0)
Y = RNG.randint(2, size=80)
PREDS = {name: np.where(RNG.rand(80) < accuracy, Y, 1 - Y)
         for name, accuracy in (("resnet", 0.9), ("vgg", 0.8), ("mtl", 0.7), ("prior", 0.65))}


def test_equals_statsmodels_and_mlxtend():
    contingency = pytest.importorskip("statsmodels.stats.contingency_tables")
    evaluate = pytest.importorskip("mlxtend.evaluate")
    result = cochrans_q(Y, PREDS)
    correct = np.column_stack([pred == Y for pred in PREDS.values()]).astype(int)
    expected = contingency.cochrans_q(correct)
    assert (result.statistic, result.pvalue) == pytest.approx((expected.statistic, expected.pvalue))
    assert (result.statistic, result.pvalue) == pytest.approx(evaluate.cochrans_q(Y, *PREDS.values()))
    assert result.df == 3 and result.pvalue < 0.05
    assert result.accuracies.to_dict() == pytest.approx({n: np.mean(p == Y) for n, p in PREDS.items()})


def test_two_models_give_uncorrected_mcnemar():
    a, b = PREDS["resnet"], PREDS["mtl"]
    result = cochrans_q(Y, [a, b])
    mcnemar = mcnemar_test(Y, a, b, exact=False, correction=False)
    assert result.statistic == pytest.approx(mcnemar.statistic)
    assert result.pvalue == pytest.approx(stats.chi2.sf(mcnemar.statistic, 1))
    assert list(result.accuracies.index) == ["model_0", "model_1"]


def test_string_labels_and_no_information():
    labels = np.array(["COVID", "Non_COVID"])
    result = cochrans_q(labels[Y], {name: labels[p] for name, p in PREDS.items()})
    assert result.statistic == pytest.approx(cochrans_q(Y, PREDS).statistic)
    same = cochrans_q(Y, [Y, Y, Y])
    assert (same.statistic, same.pvalue) == (0.0, 1.0)


@pytest.mark.parametrize(
    "preds, message",
    [
        ([Y], "compares at least two"),
        ([Y, Y[:10]], r"y_preds\['model_1'\] has 10"),
        ({"a": Y, "b": Y * 0.5}, r"y_preds\['b'\] holds non-integer"),
    ],
)
def test_errors(preds, message):
    with pytest.raises(ValueError, match=message):
        cochrans_q(Y, preds)
