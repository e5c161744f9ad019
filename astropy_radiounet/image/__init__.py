"""
Image input: any supported input turned into one 2-D `ImagePlane` (data, celestial
WCS, beam, brightness unit, blanking); restoring beams (`radio_beam.Beam`, with what
radio-beam lacks: pixel covariances on a WCS and matching kernels); resampling between
the input grid and a model's grid; robust local noise.

Needs numpy, scipy, astropy and radio-beam only; nothing here knows about models.
"""

from .beams import (angle_pixels, beam_area_pixels, beam_from_header, beam_pixel_covariance,
                    check_beam, gaussian_kernel, matching_kernel_covariance, pixel_scale)
from .noise import NoiseMap, robust_sigma
from .plane import ImagePlane, check_mask, check_wcs
from .read import read_image
from .resampling import (ResampledImage, match_beam, model_grid_shape, to_input_grid,
                         to_model_grid)
from .units import parse_brightness_unit

__all__ = ["ImagePlane", "read_image", "parse_brightness_unit", "check_mask", "check_wcs",
           "beam_from_header",
           "check_beam", "beam_pixel_covariance", "beam_area_pixels", "gaussian_kernel",
           "matching_kernel_covariance", "pixel_scale", "angle_pixels", "NoiseMap", "robust_sigma",
           "ResampledImage", "match_beam", "model_grid_shape", "to_input_grid",
           "to_model_grid"]
