"""
Synthetic LoTSS-like radio skies for training and testing diffuse-emission
segmentation: a cosmic-web backbone with galaxy clusters, radio halos, relics,
mini-halos, bridges and filaments, compact sources from 144 MHz source counts,
extended radio galaxies, and an instrument with a LOFAR-like PSF, correlated
non-Gaussian noise and imaging artefacts. Stands alone: numpy, scipy and
astropy only.
"""

from .compact import LoTSSCounts, PowerLawCounts, SourceCounts
from .diffuse import LABELS
from .field import DEFAULT_DIFFUSE_RATES, SimulatedField, simulate_field
from .instrument import InstrumentConfig, dirty_beam

__all__ = ["simulate_field", "SimulatedField", "InstrumentConfig", "LABELS",
           "DEFAULT_DIFFUSE_RATES", "SourceCounts", "LoTSSCounts", "PowerLawCounts",
           "dirty_beam"]

from .dataset import load_training_shard, write_cluster_sample, write_training_set  # noqa: E402

__all__ += ["write_training_set", "write_cluster_sample", "load_training_shard"]
