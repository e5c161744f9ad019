"""
Segmentation: what a model sees (its grid, beam and normalisation), tiled inference
over images of any size, `RadioUNetSegmenter` and the classical baseline, thresholds
and photutils segmentation images, chunked segmentation of maps larger than memory,
and segment outlines as regions.
"""

from .base import SegmenterBase
from .chunked import segment_in_chunks
from .classical import ClassicalSegmenter
from .model_input import ModelInput, on_model_grid, prepare_model_input, scale_factor
from .outlines import mask_region, segment_regions
from .segmenter import RadioUNetSegmenter
from .threshold import threshold_map
from .tiling import TileLayout, predict_tiled

__all__ = ["RadioUNetSegmenter", "ClassicalSegmenter", "SegmenterBase", "threshold_map",
           "segment_in_chunks", "segment_regions", "mask_region", "ModelInput",
           "prepare_model_input", "scale_factor", "on_model_grid", "TileLayout",
           "predict_tiled"]
