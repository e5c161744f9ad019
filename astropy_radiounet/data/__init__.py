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

`simulated_cluster_example` makes the second example, generated rather than
shipped: a simulated LoTSS-like field of a massive cluster with a radio
halo and radio galaxies of its own, the case the model must tell apart.
"""

from pathlib import Path

__all__ = ["DATA_DIR", "example_field_path", "simulated_cluster_example",
           "SIMULATED_EXAMPLE_NAME"]

#: File name of the simulated example written by ``radiounet segment --example``.
SIMULATED_EXAMPLE_NAME = "simulated_cluster_halo_radio_galaxies.fits"

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


def simulated_cluster_example():
    """
    A simulated LoTSS-like field (1024 x 1024 pixels of 1.5", 6" beam) of a
    massive cluster at its centre hosting a radio halo, a Fanaroff-Riley I
    radio galaxy and a narrow-angle-tail galaxy of its own, among the
    survey's compact sources, radio galaxies, striped noise and artefacts.

    The seed is fixed: the field is the same on every machine, and shows
    what the model must do in a cluster, mark the halo around the radio
    galaxies and not the radio galaxies themselves.

    Returns
    -------
    field : `~astropy_radiounet.simulation.SimulatedField`
        The field and its truth (``field.hdulist()`` writes it as FITS).

    Examples
    --------
    >>> from astropy_radiounet.data import simulated_cluster_example
    >>> field = simulated_cluster_example()
    >>> sorted(str(kind) for kind in set(field.sources['kind'][field.sources['cluster'] == 0]))
    ['FRI', 'NAT', 'halo']
    """
    import astropy.units as u

    from ..simulation import simulate_field

    halo_only = {"halo": 1.0, "relic": 0.0, "mini_halo": 0.0, "bridge": 0.0, "filament": 0.0}
    return simulate_field((1024, 1024), seed=15, cluster_at_center=True,
                          diffuse_probability=1.0, diffuse_rates=halo_only,
                          redshift_range=(0.1, 0.2), mass_range=[7e14, 1.2e15] * u.Msun,
                          center=(150.0, 40.0))
