"""
Survey runs: catalogue-driven classification of clusters over mosaics and blind
search of whole mosaics, resumable and on dask, with their products (tables, FITS
maps, regions, pictures).
"""

from .classify import Mosaic, MosaicIndex, SegmenterSettings, classify_clusters
from .fits_files import create_fits
from .search import candidate_catalog, image_stem, search_mosaic, search_mosaics

__all__ = ["classify_clusters", "Mosaic", "MosaicIndex", "SegmenterSettings",
           "search_mosaics", "search_mosaic", "candidate_catalog", "image_stem",
           "create_fits"]
