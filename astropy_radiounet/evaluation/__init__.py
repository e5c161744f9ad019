"""
How good is a model?

* `astropy_radiounet.evaluation.metrics` (imported here): pixel and cluster metrics
  (IoU, Dice, precision, recall, reliability, ROC AUC, thresholds).  It imports
  nothing else of the package, so training uses it too.
* `astropy_radiounet.evaluation.simulated`: the measurement of a model on simulated
  data it never saw (`~astropy_radiounet.evaluation.simulated.evaluate_pixels`,
  `~astropy_radiounet.evaluation.simulated.evaluate_clusters`).  It makes its test
  tiles with `astropy_radiounet.training`, which sits below it; it is not imported
  here, so that training can use the metrics without importing itself back.
* `astropy_radiounet.evaluation.confusers`: how much of each kind of confuser
  (radio galaxies by kind, compact sources, artefacts, noise) models mark as
  diffuse emission, at several input beams
  (`~astropy_radiounet.evaluation.confusers.evaluate_confusers`); not imported
  here either.

`~astropy_radiounet.evaluation.simulated.evaluate_clusters` and
`~astropy_radiounet.evaluation.confusers.evaluate_confusers` take several models
and measure them on the same simulated data.
"""

from .metrics import (best_threshold, classification_metrics, pixel_metrics, reliability,
                      roc_auc)

__all__ = ["pixel_metrics", "reliability", "roc_auc", "best_threshold",
           "classification_metrics"]
