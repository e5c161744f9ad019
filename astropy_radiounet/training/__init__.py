"""
Training on simulated LoTSS-like fields: the recipe (`TrainingConfig`), the training
pairs the models learn from, fitting (`train`) and probability calibration
(`calibrate`).  Losses and Keras mask metrics are in
`astropy_radiounet.training.losses` (imported on its own, as it imports Keras).
"""

from .config import TrainingConfig
from .fit import calibrate, train
from .pairs import (make_training_pair, make_training_pairs, read_training_set, training_pairs,
                    write_training_set)

__all__ = ["TrainingConfig", "make_training_pair", "make_training_pairs", "write_training_set",
           "read_training_set", "training_pairs", "train", "calibrate"]
