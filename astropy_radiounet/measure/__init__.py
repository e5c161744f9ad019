"""
Measure what was found: flux densities, sizes and radio powers of segments
(``photometry.py``) and radial profiles (``profile.py``).

Imports of the package: ``image``, ``clusters``, ``utils`` and ``exceptions`` only.
"""

from .photometry import (SegmentFlux, largest_angular_size, linear_size, measure_segments,
                         radio_power, segment_flux)

from .profile import HaloProfileFit, exponential_halo_image, fit_exponential_halo

__all__ = ["radio_power", "largest_angular_size", "linear_size", "segment_flux",
           "SegmentFlux", "measure_segments", "fit_exponential_halo", "HaloProfileFit",
           "exponential_halo_image"]
