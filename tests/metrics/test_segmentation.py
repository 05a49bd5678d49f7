import numpy as np
import pytest
from sklearn.metrics import f1_score, jaccard_score

from skcovid.metrics import dice_score, iou_score

RNG = np.random.RandomState(0)
TRUTH = RNG.rand(6, 16, 16) < 0.3
PROBA = np.clip(TRUTH * 0.5 + RNG.rand(6, 16, 16) * 0.6, 0, 1)


def test_per_image_scores_equal_sklearn():
    dice = dice_score(TRUTH, PROBA, reduce="none")
    iou = iou_score(TRUTH, PROBA, reduce="none")
    for i in range(len(TRUTH)):
        pred = (PROBA[i] >= 0.5).ravel()
        assert dice[i] == pytest.approx(f1_score(TRUTH[i].ravel(), pred))
        assert iou[i] == pytest.approx(jaccard_score(TRUTH[i].ravel(), pred))
    np.testing.assert_allclose(iou, dice / (2 - dice))
    assert dice_score(TRUTH, PROBA) == pytest.approx(dice.mean())


def test_threshold_and_int_masks():
    strict = dice_score(TRUTH.astype(int), PROBA, threshold=0.9, reduce="none")
    np.testing.assert_allclose(strict, dice_score(TRUTH, PROBA >= 0.9, reduce="none"))


def test_empty_mask_conventions():
    empty = np.zeros((1, 16, 16))
    assert dice_score(empty, empty) == 1.0
    assert iou_score(empty, empty, empty="zero") == 0.0
    assert np.isnan(dice_score(empty, empty, empty="nan"))
    truth = np.concatenate([TRUTH[:1], empty])
    pred = np.concatenate([TRUTH[:1], empty]).astype(float)
    assert dice_score(truth, pred, empty="nan") == 1.0
    np.testing.assert_allclose(dice_score(truth, pred, empty="zero", reduce="none"), [1.0, 0.0])
    # a missed lesion is 0, not "empty"
    assert dice_score(TRUTH[:1], np.zeros_like(PROBA[:1])) == 0.0


def test_list_of_masks_of_different_sizes():
    truths = [np.ones((4, 4)), np.eye(3)]
    preds = [np.ones((4, 4)), np.zeros((3, 3))]
    np.testing.assert_allclose(dice_score(truths, preds, reduce="none"), [1.0, 0.0])


@pytest.mark.parametrize(
    "truth, pred, message",
    [
        (np.ones((2, 4, 4)), np.ones((3, 4, 4)), "2 images but y_pred_mask has 3"),
        (np.ones((1, 4, 4)), np.ones((1, 4, 5)), "resize"),
        (np.full((1, 4, 4), 255), np.ones((1, 4, 4)), "mask > 0"),
        (np.ones(4), np.ones(4), r"mask\[None\]"),
        (np.ones((1, 2, 2)), np.full((1, 2, 2), np.nan), "NaN"),
    ],
)
def test_bad_masks(truth, pred, message):
    with pytest.raises(ValueError, match=message):
        dice_score(truth, pred)


def test_bad_parameters():
    with pytest.raises(ValueError, match="'empty' parameter of iou_score"):
        iou_score(TRUTH, PROBA, empty="ignore")
    with pytest.raises(ValueError, match="'reduce' parameter"):
        dice_score(TRUTH, PROBA, reduce="sum")


def test_single_2d_mask_is_refused_not_read_as_rows():
    truth = np.array([[1, 1], [0, 0]])
    pred = np.array([[1, 0], [0, 0]])
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*2 one-dimensional images.*mask\[None\]"):
        dice_score(truth, pred)
    assert dice_score(truth[None], pred[None]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match=r"y_true_mask\[1\] has shape \(3,\)"):
        dice_score([np.ones((2, 2)), np.ones(3)], [np.ones((2, 2)), np.ones(3)])
