"""
Survey runs: catalogue-driven classification of clusters over mosaics and blind
search of whole mosaics, resumable and on dask, with their products (tables, FITS
maps, regions, pictures).
"""

from .classify import classify_clusters
from .manifests import check_run_manifest, model_identity
from .mosaics import Mosaic, MosaicIndex
from .products import (create_fits, existing_products, image_stem, product_path, shared_stems,
                       write_segmentation_products)
from .search import candidate_catalog, search_mosaic, search_mosaics

__all__ = ["classify_clusters", "Mosaic", "MosaicIndex", "search_mosaics", "search_mosaic",
           "candidate_catalog", "image_stem", "create_fits", "product_path",
           "write_segmentation_products", "existing_products", "shared_stems",
           "check_run_manifest",
           "model_identity"]
