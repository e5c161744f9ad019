import numpy as np
import pytest

from astropy_radiounet.training.losses import (MaskIoU, MaskPrecision, MaskRecall, combined_loss,
                                               soft_dice, tversky_loss)


def masks():
    truth = np.zeros((2, 8, 8, 1), np.float32)
    truth[0, 2:6, 2:6] = 1  # 16 true pixels; the second image is empty
    prediction = np.zeros_like(truth)
    prediction[0, 2:6, 2:4] = 0.9  # 8 true positives
    prediction[1, :2, :2] = 0.8  # 4 false positives
    return truth, prediction


def test_tversky_counts_false_negatives_more_than_false_positives():
    truth, _ = masks()
    missed = np.zeros_like(truth)
    extra = truth.copy()
    extra[1, :4, :4] = 1  # 16 false positives
    assert float(tversky_loss(truth, missed)) > float(tversky_loss(truth, extra))
    assert float(tversky_loss(truth, truth)) == pytest.approx(0.0)


def test_empty_masks_still_penalise_false_positives():
    empty = np.zeros((1, 8, 8, 1), np.float32)
    assert float(tversky_loss(empty, empty)) == pytest.approx(0.0)
    assert float(tversky_loss(empty, empty + 0.5)) > 0.9


def test_dice_and_combined_loss_values():
    truth, prediction = masks()
    tp, fp, fn = 8 * 0.9, 4 * 0.8, 16 - 8 * 0.9
    expected_dice = (tp + 1) / (tp + 0.5 * fp + 0.5 * fn + 1)  # smoothed by 1
    assert float(soft_dice(truth, prediction)) == pytest.approx(expected_dice, rel=1e-5)
    loss = combined_loss(bce_weight=1.0, tversky_weight=0.0)
    clipped = np.clip(prediction, 1e-6, 1 - 1e-6)
    bce = -np.mean(truth * np.log(clipped) + (1 - truth) * np.log(1 - clipped))
    assert float(loss(truth, prediction)) == pytest.approx(bce, rel=1e-5)


def test_confusion_metrics_accumulate_over_batches():
    truth, prediction = masks()
    iou, precision, recall = MaskIoU(), MaskPrecision(), MaskRecall()
    for metric in (iou, precision, recall):
        metric.update_state(truth[:1], prediction[:1])
        metric.update_state(truth[1:], prediction[1:])
    assert float(iou.result()) == pytest.approx(8 / (8 + 4 + 8))
    assert float(precision.result()) == pytest.approx(8 / 12)
    assert float(recall.result()) == pytest.approx(8 / 16)
    iou.reset_state()
    assert float(iou.result()) == 0.0
