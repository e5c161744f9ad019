"""
Example data shipped with the package.

``lotss_dr1_P205+55.fits`` is a 600 x 600 pixel cutout of the LoTSS-DR1
mosaic of pointing P205+55 (144 MHz, 6 arcsec beam, 1.5 arcsec pixels), from
the LOFAR Two-metre Sky Survey first data release (Shimwell et al. 2019,
A&A 622, A1), produced by the LoTSS ddf-pipeline v1.4.  It holds no
catalogued galaxy cluster: compact sources, real calibration and
deconvolution artefacts and an extended radio galaxy near the lower-right
corner, so a good model marks essentially nothing in it as diffuse.  The
pixel values were converted from float64 to float32; the header is the
survey's.  Please cite Shimwell et al. (2019) when you use it.
"""

from pathlib import Path

__all__ = ["DATA_DIR", "example_field_path"]

#: Directory of the shipped example data.
DATA_DIR = Path(__file__).parent


def example_field_path():
    """
    Path of the shipped LoTSS-DR1 example field (FITS).

    Examples
    --------
    >>> from astropy.io import fits
    >>> from astropy_radiounet.data import example_field_path
    >>> fits.getheader(example_field_path())['BUNIT']
    'JY/BEAM'
    """
    return DATA_DIR / "lotss_dr1_P205+55.fits"
