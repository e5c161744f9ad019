"""
Synthetic LoTSS-like radio skies for training and testing diffuse-emission
segmentation: a cosmic-web backbone with galaxy clusters, radio halos, relics,
mini-halos, bridges and filaments, compact sources from 144 MHz source counts,
extended radio galaxies drawn from the LoTSS (LoMorph) population, and an
instrument with a LOFAR-like PSF, correlated non-Gaussian noise and imaging
artefacts. Stands alone: numpy, scipy and astropy only.
"""

from .compact import LoTSSCounts, PowerLawCounts, SourceCounts
from .config import DEFAULT_DIFFUSE_RATES, SKY_PRESETS, ClusterConfig, SkyConfig
from .diffuse import LABELS
from .field import SimulatedField, simulate_field
from .instrument import (LOTSS_BEAM, LOTSS_NOISE, InstrumentConfig, dirty_beam,
                         keywords_at_beam, noise_at_beam)
from .radio_galaxies import (LOMORPH_POPULATION, RADIO_GALAXY_KINDS, RADIO_GALAXY_POPULATIONS,
                             PopulationClass, RadioGalaxy, cluster_radio_galaxy_rates,
                             radio_galaxy, sample_cluster_radio_galaxies,
                             sample_radio_galaxies)

__all__ = ["simulate_field", "SimulatedField", "SkyConfig", "ClusterConfig",
           "InstrumentConfig", "LABELS", "DEFAULT_DIFFUSE_RATES", "SourceCounts",
           "LoTSSCounts", "PowerLawCounts", "dirty_beam", "RADIO_GALAXY_KINDS",
           "RADIO_GALAXY_POPULATIONS", "LOMORPH_POPULATION", "PopulationClass", "RadioGalaxy",
           "radio_galaxy", "sample_radio_galaxies", "sample_cluster_radio_galaxies",
           "cluster_radio_galaxy_rates", "SKY_PRESETS", "LOTSS_NOISE", "LOTSS_BEAM",
           "noise_at_beam", "keywords_at_beam"]

from .dataset import write_cluster_sample  # noqa: E402

__all__ += ["write_cluster_sample"]
