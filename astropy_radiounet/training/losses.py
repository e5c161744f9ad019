"""
Losses and metrics for thin, faint, heavily imbalanced diffuse-emission masks.

Written with `keras.ops` only, so they run under TensorFlow, JAX and PyTorch.
Every function takes ``(y_true, y_pred)`` batches of shape (n, ny, nx, 1)
with the truth in {0, 1} and the prediction in [0, 1].  A loss made with
``combined_loss(pixel_weights=True)`` takes the truth with a second channel,
the loss weight of each pixel (`with_pixel_weights`); the mask metrics read
the first channel only, so they take either.

* Binary cross-entropy alone lets a model that predicts "nothing" everywhere
  look good when diffuse emission covers 1% of the pixels.
* The Tversky loss (Salehi et al. 2017) weighs false negatives by ``beta``
  and false positives by ``alpha``; ``alpha = beta = 0.5`` is the Dice loss.
  It is computed over the whole batch so that images with an empty mask
  still count (they only penalise false positives).
* `combined_loss` adds the two: cross-entropy keeps the probabilities
  calibrated, the overlap term keeps the rare class from being ignored.
"""

import keras
from keras import ops

__all__ = ["tversky_loss", "combined_loss", "soft_dice", "with_pixel_weights", "MaskIoU",
           "MaskPrecision", "MaskRecall"]

_EPSILON = 1e-6


def _flat(y_true, y_pred):
    y_true = ops.cast(ops.reshape(y_true, (-1,)), "float32")
    y_pred = ops.cast(ops.reshape(y_pred, (-1,)), "float32")
    return y_true, y_pred


def with_pixel_weights(truth, hard, weight):
    """
    The truth with a second channel of per-pixel loss weights, as
    ``combined_loss(pixel_weights=True)`` takes it.

    Parameters
    ----------
    truth : `~numpy.ndarray`
        Truth masks, shape (n, ny, nx, 1), in {0, 1}.
    hard : `~numpy.ndarray`
        Hard negatives, same shape: 1 where a pixel outside the truth is to
        weigh ``weight``.
    weight : float
        Their weight; every other pixel weighs 1.

    Returns
    -------
    packed : `~numpy.ndarray`
        float32 array of shape (n, ny, nx, 2).

    Examples
    --------
    >>> import numpy as np
    >>> from astropy_radiounet.training.losses import with_pixel_weights
    >>> truth = np.array([1.0, 0.0, 0.0]).reshape(1, 1, 3, 1)
    >>> hard = np.array([1.0, 1.0, 0.0]).reshape(1, 1, 3, 1)
    >>> with_pixel_weights(truth, hard, 3.0)[0, 0, :, 1].tolist()
    [1.0, 3.0, 1.0]
    """
    import numpy as np

    weights = np.where((np.asarray(hard) > 0) & (np.asarray(truth) == 0), weight, 1.0)
    return np.concatenate([truth, weights], axis=-1).astype(np.float32)


def _truth_and_weights(y_true, pixel_weights):
    """The truth channel, and the weights channel (or `None`)."""
    if not pixel_weights:
        return y_true, None
    return y_true[..., :1], ops.reshape(ops.cast(y_true[..., 1:2], "float32"), (-1,))


def tversky_loss(y_true, y_pred, *, alpha=0.3, beta=0.7, smooth=1.0, weights=None):
    """
    One minus the Tversky index over the whole batch.

    Parameters
    ----------
    y_true, y_pred : tensor
        Truth in {0, 1} and predicted probability.
    alpha, beta : float, optional
        Weights of false positives and false negatives.
    smooth : float, optional
        Added to numerator and denominator (keeps empty batches finite).
    weights : tensor, optional
        Weight of each pixel (flat), multiplying its contribution to the
        true positives, false positives and false negatives.

    Returns
    -------
    loss : scalar tensor
        In [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from astropy_radiounet.training.losses import tversky_loss
    >>> truth = np.zeros((1, 4, 4, 1), np.float32); truth[0, :2] = 1
    >>> float(tversky_loss(truth, truth))
    0.0
    >>> round(float(tversky_loss(truth, 1 - truth)), 3)
    0.889
    """
    y_true, y_pred = _flat(y_true, y_pred)
    if weights is None:
        true_positive = ops.sum(y_true * y_pred)
        false_positive = ops.sum((1 - y_true) * y_pred)
        false_negative = ops.sum(y_true * (1 - y_pred))
    else:
        true_positive = ops.sum(weights * y_true * y_pred)
        false_positive = ops.sum(weights * (1 - y_true) * y_pred)
        false_negative = ops.sum(weights * y_true * (1 - y_pred))
    index = (true_positive + smooth) / (true_positive + alpha * false_positive
                                        + beta * false_negative + smooth)
    return 1.0 - index


def soft_dice(y_true, y_pred):
    """Soft Dice coefficient over the batch (a metric: 1 is perfect)."""
    return 1.0 - tversky_loss(y_true, y_pred, alpha=0.5, beta=0.5)


def combined_loss(*, bce_weight=1.0, tversky_weight=1.0, alpha=0.3, beta=0.7,
                  pixel_weights=False):
    """
    Binary cross-entropy plus Tversky loss, as one Keras loss function.

    Parameters
    ----------
    bce_weight, tversky_weight : float, optional
        Weights of the two terms.
    alpha, beta : float, optional
        Tversky weights of false positives and false negatives.
    pixel_weights : bool, optional
        The truth comes with a second channel, the loss weight of each pixel
        (`with_pixel_weights`): its cross-entropy is multiplied by it (and
        averaged over the pixels), and its share of the true positives,
        false positives and false negatives of the Tversky index too.  With
        all weights 1 this is the plain loss.

    Returns
    -------
    loss : callable
        ``loss(y_true, y_pred)``, named ``bce_tversky``.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy_radiounet.training.losses import combined_loss, with_pixel_weights
    >>> truth = np.zeros((1, 4, 4, 1), np.float32); truth[0, :2] = 1
    >>> prediction = np.full(truth.shape, 0.3, np.float32)
    >>> plain = float(combined_loss()(truth, prediction))
    >>> packed = with_pixel_weights(truth, np.zeros_like(truth), 3.0)
    >>> bool(np.isclose(float(combined_loss(pixel_weights=True)(packed, prediction)), plain))
    True
    """
    def bce_tversky(y_true, y_pred):
        y_true, weights = _truth_and_weights(y_true, pixel_weights)
        flat_true, flat_pred = _flat(y_true, y_pred)
        clipped = ops.clip(flat_pred, _EPSILON, 1 - _EPSILON)
        pixel_bce = flat_true * ops.log(clipped) + (1 - flat_true) * ops.log(1 - clipped)
        bce = -ops.mean(pixel_bce if weights is None else weights * pixel_bce)
        return bce_weight * bce + tversky_weight * tversky_loss(y_true, y_pred, alpha=alpha,
                                                                beta=beta, weights=weights)

    return bce_tversky


def _safe_ratio(numerator, denominator):
    return ops.where(denominator > 0, numerator / ops.maximum(denominator, 1.0), 0.0)


class _ConfusionMetric(keras.metrics.Metric):
    """Accumulates true positives, false positives and false negatives at a threshold."""

    def __init__(self, threshold=0.5, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.threshold = threshold
        self.counts = self.add_variable(shape=(3,), initializer="zeros", name="counts")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _flat(y_true[..., :1], y_pred)  # the truth without its weights
        predicted = ops.cast(y_pred > self.threshold, "float32")
        truth = ops.cast(y_true > 0.5, "float32")
        update = ops.stack([ops.sum(predicted * truth), ops.sum(predicted * (1 - truth)),
                            ops.sum((1 - predicted) * truth)])
        self.counts.assign(self.counts + update)

    def reset_state(self):
        self.counts.assign(ops.zeros((3,)))

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}

    def result(self):
        true_positive, false_positive, false_negative = (self.counts[0], self.counts[1],
                                                         self.counts[2])
        return self._formula(true_positive, false_positive, false_negative)


class MaskIoU(_ConfusionMetric):
    """Intersection over union of the thresholded mask, accumulated over batches."""

    def __init__(self, threshold=0.5, name="iou", **kwargs):
        super().__init__(threshold=threshold, name=name, **kwargs)

    @staticmethod
    def _formula(tp, fp, fn):
        return _safe_ratio(tp, tp + fp + fn)


class MaskPrecision(_ConfusionMetric):
    """Precision of the thresholded mask, accumulated over batches."""

    def __init__(self, threshold=0.5, name="precision", **kwargs):
        super().__init__(threshold=threshold, name=name, **kwargs)

    @staticmethod
    def _formula(tp, fp, fn):
        return _safe_ratio(tp, tp + fp)


class MaskRecall(_ConfusionMetric):
    """Recall of the thresholded mask, accumulated over batches."""

    def __init__(self, threshold=0.5, name="recall", **kwargs):
        super().__init__(threshold=threshold, name=name, **kwargs)

    @staticmethod
    def _formula(tp, fp, fn):
        return _safe_ratio(tp, tp + fn)
