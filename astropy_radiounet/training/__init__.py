"""
Training on simulated LoTSS-like fields: the recipe (`TrainingConfig`), the training
pairs the models learn from, fitting (`train`), warm starts of a network of more
input channels from a trained one (`warm_start_model`) and probability calibration
(`calibrate`).  Losses and Keras mask metrics are in
`astropy_radiounet.training.losses` (imported on its own, as it imports Keras).
"""

from .config import TrainingConfig
from .fit import calibrate, train
from .pairs import (make_training_pair, make_training_pairs, read_training_set, training_pairs,
                    truth_level, write_training_set)
from .warm_start import warm_start_model

__all__ = ["TrainingConfig", "make_training_pair", "make_training_pairs", "write_training_set",
           "read_training_set", "training_pairs", "train", "calibrate", "warm_start_model",
           "truth_level"]
