"""
The footprints of survey mosaics, read from their headers only, and the
choice of the mosaic that best covers a sky aperture.

Of the mosaics whose footprint holds the aperture's centre, the best is the
one covering the largest fraction of the aperture; among equals, the one
whose centre is nearest (LoTSS noise rises away from a pointing centre).
"""

import warnings
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ..exceptions import SkippedInputWarning

__all__ = ["Mosaic", "MosaicIndex"]


@dataclass(frozen=True)
class Mosaic:
    """A mosaic's path, celestial WCS and shape, read from its header only."""

    path: str
    wcs: WCS
    shape: tuple

    @classmethod
    def from_path(cls, path):
        """Read the header of the first image HDU (no pixel data is read)."""
        with fits.open(path, memmap=True) as hdulist:
            for hdu in hdulist:
                if hdu.is_image and hdu.header.get("NAXIS", 0) >= 2:
                    header = hdu.header
                    break
            else:
                msg = f"{path} holds no image HDU."
                raise ValueError(msg)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header).celestial
        shape = (int(header["NAXIS2"]), int(header["NAXIS1"]))
        return cls(str(path), wcs, shape)

    def aperture_coverage(self, coord, radius, n_samples=400):
        """
        Fraction of a circular aperture that falls inside the image bounds
        (geometry only; blank pixels are accounted for later).
        """
        rng = np.random.default_rng(0)
        r = radius.to_value(u.deg) * np.sqrt(rng.uniform(0, 1, n_samples))
        theta = rng.uniform(0, 2 * np.pi, n_samples)
        points = coord.directional_offset_by(theta * u.rad, r * u.deg)
        x, y = self.wcs.world_to_pixel(points)
        inside = (x > -0.5) & (x < self.shape[1] - 0.5) & (y > -0.5) & (y < self.shape[0] - 0.5)
        return float(np.mean(inside))

    def centre_offset(self, coord):
        """Angular distance of ``coord`` from the image centre."""
        centre = self.wcs.pixel_to_world((self.shape[1] - 1) / 2, (self.shape[0] - 1) / 2)
        return coord.separation(centre)


class MosaicIndex:
    """
    The footprints of a set of mosaics.

    Parameters
    ----------
    paths : iterable of str or path
        FITS mosaics.  Unreadable files are skipped with a warning and listed
        in ``unreadable``.
    """

    def __init__(self, paths):
        self.mosaics = []
        self.unreadable = {}
        for path in paths:
            try:
                self.mosaics.append(Mosaic.from_path(path))
            except (OSError, ValueError, KeyError) as exc:
                self.unreadable[str(path)] = str(exc)
                warnings.warn(f"Skipping mosaic {path}: {exc}", SkippedInputWarning, stacklevel=2)

    def best(self, coord, radius):
        """
        The mosaic that best covers an aperture, and its geometric coverage.

        Returns
        -------
        mosaic : `Mosaic` or `None`
            `None` when no mosaic holds the aperture's centre.
        coverage : float
        """
        candidates = []
        for mosaic in self.mosaics:
            x, y = mosaic.wcs.world_to_pixel(coord)
            if not (-0.5 < x < mosaic.shape[1] - 0.5 and -0.5 < y < mosaic.shape[0] - 0.5):
                continue
            coverage = mosaic.aperture_coverage(coord, radius)
            candidates.append((-coverage, mosaic.centre_offset(coord).deg, mosaic))
        if not candidates:
            return None, 0.0
        candidates.sort(key=lambda item: item[:2])
        return candidates[0][2], -candidates[0][0]
