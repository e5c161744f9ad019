"""
What a model sees: an image brought to the model's grid and beam, its local
noise, and the normalisation, shared by inference and training so that the
two can never drift apart.
"""

import warnings
from dataclasses import dataclass

import astropy.units as u
import numpy as np

from ..exceptions import MissingMetadataWarning, ResolutionWarning
from ..image.beams import beam_pixel_covariance, pixel_scale
from ..models.normalisation import LogNormalisation
from ..image.noise import NoiseMap
from ..image.resampling import match_beam, to_model_grid

__all__ = ["ModelInput", "prepare_model_input", "scale_factor", "on_model_grid"]

#: Relative pixel-scale difference below which the input grid is used as is.
SCALE_TOLERANCE = 1e-3


def scale_factor(plane, card):
    """
    Model pixel size over input pixel size (1 when no resampling is needed).

    Parameters
    ----------
    plane : `~astropy_radiounet.image.ImagePlane`
        The input.
    card : `~astropy_radiounet.models.ModelCard`
        The model's card.
    """
    if card.pixel_scale is None:
        return 1.0
    if plane.wcs is None:
        warnings.warn(f"The image has no WCS, so its pixel scale is unknown: assuming it is "
                      f"already sampled at the model's {card.pixel_scale:.3g} pixels and beam. "
                      f" Pass wcs= to have it resampled.", MissingMetadataWarning, stacklevel=2)
        return 1.0
    factor = float(card.pixel_scale / pixel_scale(plane.wcs))
    return 1.0 if abs(factor - 1.0) < SCALE_TOLERANCE else factor


def _beam_text(beam):
    return f"{beam.major.to(u.arcsec):.3g} x {beam.minor.to(u.arcsec):.3g}"


def on_model_grid(plane, card, factor):
    """
    An image plane on the model grid, convolved to the model's beam.

    Parameters
    ----------
    plane : `~astropy_radiounet.image.ImagePlane`
        The input.
    card : `~astropy_radiounet.models.ModelCard`
        The model's card.
    factor : float
        Model pixel size over input pixel size (see `scale_factor`).

    Returns
    -------
    image : `~astropy_radiounet.image.ImagePlane` or `~astropy_radiounet.image.ResampledImage`
        The input itself when nothing needs doing.
    """
    image = plane if factor == 1.0 else to_model_grid(plane, factor)
    if card.beam is None or plane.wcs is None:
        return image
    if plane.beam is None:
        warnings.warn(f"The image header has no beam (BMAJ/BMIN/BPA), so it cannot be "
                      f"convolved to the model's {_beam_text(card.beam)} beam; it is used "
                      f"as it is.", MissingMetadataWarning, stacklevel=2)
        return image
    target = beam_pixel_covariance(card.beam, plane.wcs, scale=factor)
    current = beam_pixel_covariance(plane.beam, plane.wcs, scale=factor)
    if np.allclose(target, current, rtol=1e-3, atol=1e-4):
        return image
    if image is plane:
        image = to_model_grid(plane, 1.0)
    deficit = match_beam(image, target, current,
                         pixel_variance=1.0 / 12.0 if factor > 1 else 0.0)
    if deficit > 0.05 * np.linalg.eigvalsh(target).max():
        warnings.warn(f"The image's beam ({_beam_text(plane.beam)}) is wider than the "
                      f"model's ({_beam_text(card.beam)}) and cannot be sharpened; the model "
                      f"sees a smoother image than it was trained on.", ResolutionWarning,
                      stacklevel=2)
    return image


@dataclass
class ModelInput:
    """
    An image ready for a model.

    Attributes
    ----------
    image : `~astropy_radiounet.image.ImagePlane` or `~astropy_radiounet.image.ResampledImage`
        The image on the model grid (the input itself when no resampling or
        convolution is needed, so memory-mapped data stay on disk).
    noise : `~astropy_radiounet.image.NoiseMap`
        Its local noise.
    factor : float
        Model pixel size over input pixel size.
    normalisation : `~astropy_radiounet.models.LogNormalisation`
        The model's normalisation.
    """

    image: object
    noise: NoiseMap
    factor: float
    normalisation: LogNormalisation

    @property
    def shape(self):
        """Shape of the model grid."""
        return self.image.shape

    def normalised(self, rows=slice(None), cols=slice(None)):
        """The normalised network input for part of the model grid (float32)."""
        values, valid = self.image.read(rows, cols)
        return self.normalisation(values, valid, self.noise(rows, cols))


def prepare_model_input(plane, card):
    """
    Bring an image plane to a model's grid, beam and normalisation.

    Parameters
    ----------
    plane : `~astropy_radiounet.image.ImagePlane`
        The input (see `~astropy_radiounet.image.read_image`).
    card : `~astropy_radiounet.models.ModelCard`
        The model's card: pixel scale, beam, noise box and normalisation.

    Returns
    -------
    model_input : `ModelInput`
    """
    factor = scale_factor(plane, card)
    image = on_model_grid(plane, card, factor)
    noise = NoiseMap.estimate(image, box_size=card.noise_box_size)
    return ModelInput(image=image, noise=noise, factor=factor,
                      normalisation=card.normalisation)
