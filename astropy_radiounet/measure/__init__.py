"""
Measure what was found: flux densities, sizes and radio powers of segments
(``photometry.py``), the local background they sit on (``background.py``),
radial profiles (``profile.py``), compact sources
(``compact.py``), the diffuse emission of a cluster (``cluster.py``) and
upper limits from injected mock halos (``limits.py``).

Imports of the package: ``image``, ``clusters``, ``utils`` and ``exceptions`` only.
"""

from .photometry import (SegmentFlux, flux_error, largest_angular_size, linear_size,
                         measure_segments, radio_power, segment_flux)

from .background import LocalBackground, local_background
from .profile import HaloProfileFit, exponential_halo_image, fit_exponential_halo

from .compact import SUBTRACTION_ERROR, CompactSubtraction, subtract_compact_sources
from .cluster import CLUSTER_COLUMNS, ClusterMeasurement, measure_cluster
from .limits import HALO_RE_PER_R500, UpperLimit, halo_e_folding_radius, upper_limit

__all__ = ["radio_power", "largest_angular_size", "linear_size", "segment_flux", "flux_error",
           "SegmentFlux", "measure_segments", "fit_exponential_halo", "HaloProfileFit",
           "exponential_halo_image", "upper_limit", "UpperLimit", "halo_e_folding_radius",
           "HALO_RE_PER_R500", "measure_cluster", "ClusterMeasurement", "CLUSTER_COLUMNS",
           "subtract_compact_sources", "CompactSubtraction", "SUBTRACTION_ERROR",
           "local_background", "LocalBackground"]
