"""
Galaxy clusters: R500 from M500 and apertures as angles, cluster catalogues as one
standard table, and `DetectionRatio`, the mean probability of diffuse emission inside
an aperture of a multiple of R500.
"""

from .catalogs import COLUMN_CANDIDATES, catalog_apertures, catalog_r500, read_cluster_catalog
from .detection_ratio import DetectionRatio
from .r500 import (DEFAULT_APERTURE_FACTOR, angular_radius, m500_from_r500, r500_from_m500,
                   resolve_cosmology)

__all__ = ["DetectionRatio", "r500_from_m500", "m500_from_r500", "angular_radius",
           "resolve_cosmology",
           "DEFAULT_APERTURE_FACTOR",
           "read_cluster_catalog", "catalog_r500", "catalog_apertures", "COLUMN_CANDIDATES"]
