"""
The radio-galaxy population: draws that follow the LoMorph fits, the shape of
each kind, the radio galaxies of clusters, the sources table and footprints,
and the v0.2 population bit for bit.  No test reads the LoMorph catalogue:
its numbers below were measured by benchmarks/compare_radio_galaxies.py.
"""

import numpy as np
import pytest
from scipy import ndimage, special

from astropy_radiounet.simulation import SkyConfig, simulate_field
from astropy_radiounet.simulation.compact import splat_gaussians
from astropy_radiounet.simulation.cosmology_web import kpc_per_arcsec
from astropy_radiounet.simulation.radio_galaxies import (
    LOMORPH_POPULATION, RADIO_GALAXY_KINDS, REMNANT_FRACTION, V02_RADIO_GALAXY_KINDS,
    cluster_radio_galaxy_rates, radio_galaxy, sample_cluster_radio_galaxies,
    sample_radio_galaxies)

N_DRAW = 200_000
NO_DIFFUSE = {"halo": 0, "relic": 0, "mini_halo": 0, "bridge": 0, "filament": 0}


@pytest.fixture(scope="module")
def draw():
    return sample_radio_galaxies(np.random.default_rng(42), N_DRAW)


def _median_size(c):
    """The median angular size a `PopulationClass` says (inverse CDF at 0.5)."""
    lo, hi = ((np.log10(max(t - c.theta0, 1e-3)) - c.mu) / c.sigma for t in (c.lo, c.hi))
    z = special.ndtri((special.ndtr(lo) + special.ndtr(hi)) / 2)
    return c.theta0 + 10 ** (c.mu + c.sigma * z)


def _median_log_flux(c):
    """The median log10(flux / mJy) a `PopulationClass` says (numerical integration)."""
    lo, hi = ((np.log10(max(t - c.theta0, 1e-3)) - c.mu) / c.sigma for t in (c.lo, c.hi))
    z = np.linspace(max(lo, -8), min(hi, 8), 4001)
    weight = np.exp(-0.5 * z**2)
    weight /= weight.sum()
    mean = c.flux_mu + c.flux_slope * z
    a = special.ndtr((c.flux_lo - mean) / c.flux_sigma)
    b = special.ndtr((c.flux_hi - mean) / c.flux_sigma)
    grid = np.linspace(c.flux_lo, c.flux_hi, 4001)
    cdf = [np.sum(weight * np.clip((special.ndtr((g - mean) / c.flux_sigma) - a) / (b - a),
                                   0, 1)) for g in grid]
    return float(np.interp(0.5, cdf, grid))


def test_class_fractions_of_a_large_draw(draw):
    kind = draw[0]
    for name, c in LOMORPH_POPULATION.items():
        assert np.mean(kind == name) == pytest.approx(c.fraction, abs=0.004), name
    assert np.mean(kind == "remnant") == pytest.approx(REMNANT_FRACTION, abs=0.003)
    assert set(kind) == set(RADIO_GALAXY_KINDS)


@pytest.mark.parametrize("name", list(LOMORPH_POPULATION))
def test_size_and_flux_medians_follow_the_parameters(draw, name):
    kind, size, flux = draw
    c = LOMORPH_POPULATION[name]
    sel = kind == name
    tolerance = 0.05 if sel.sum() > 3000 else 0.12
    assert np.median(size[sel]) == pytest.approx(_median_size(c), rel=tolerance)
    assert np.log10(np.median(flux[sel]) * 1e3) == pytest.approx(_median_log_flux(c),
                                                                 abs=0.06)
    assert size[sel].min() >= c.lo and size[sel].max() <= c.hi
    assert flux[sel].min() >= 10 ** c.flux_lo * 1e-3 * 0.999


def test_population_has_lomorphs_size_and_flux_distributions(draw):
    # LoMorph, all 5,805 galaxies (benchmarks/compare_radio_galaxies.py): angular
    # size quantiles 10/50/90 per cent 18.0 / 36.7 / 104 arcsec, flux 3.01 / 24.3 / 247 mJy.
    kind, size, flux = draw
    lomorph = kind != "remnant"
    np.testing.assert_allclose(np.percentile(size[lomorph], [10, 50, 90]), [18.0, 36.7, 104],
                               rtol=0.06)
    np.testing.assert_allclose(np.percentile(flux[lomorph] * 1e3, [10, 50, 90]),
                               [3.01, 24.3, 247], rtol=0.15)


def test_draws_are_reproducible():
    a = sample_radio_galaxies(np.random.default_rng(5), 100)
    b = sample_radio_galaxies(np.random.default_rng(5), 100)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# ---- the shapes ----------------------------------------------------------------------

def _render(g, n, *, beam_sigma=2.0):
    """A galaxy's blobs and core, with a Gaussian beam, on an n x n grid (Jy/pixel)."""
    image = np.zeros((n, n))
    beam = beam_sigma**2 * np.eye(2)
    splat_gaussians(image, g.blob_y, g.blob_x, g.blob_flux, g.blob_cov + beam)
    splat_gaussians(image, [g.y], [g.x], [g.core_flux], beam[None])
    return image


def _along(g):
    """Blob distances from the host along and across ``g.angle``."""
    dy, dx = g.blob_y - g.y, g.blob_x - g.x
    return dx * np.cos(g.angle) + dy * np.sin(g.angle), -dx * np.sin(g.angle) + dy * np.cos(
        g.angle)


@pytest.mark.parametrize("kind", RADIO_GALAXY_KINDS)
def test_every_kind_keeps_its_flux_and_size(kind):
    for seed in range(5):
        g = radio_galaxy(np.random.default_rng(seed), kind, 150.0, 150.0, flux=0.05,
                         size=100.0)
        assert g.kind == kind
        assert g.blob_flux.sum() + g.core_flux == pytest.approx(0.05)
        assert np.all(g.blob_flux > 0) and np.all(np.linalg.det(g.blob_cov) > 0)
        y, x = np.r_[g.y, g.blob_y], np.r_[g.x, g.blob_x]
        extent = np.hypot(y[:, None] - y, x[:, None] - x).max()  # between blob centres
        low = 0.2 if kind == "remnant" else 0.4  # a remnant may be one amorphous lobe
        assert low * g.size < extent < 1.05 * g.size
        assert (g.core_flux == 0) == (kind == "remnant")


def test_frii_has_compact_hotspots_at_the_ends_and_lobes():
    for seed in range(10):
        g = radio_galaxy(np.random.default_rng(seed), "FRII", 200.0, 200.0, flux=0.1,
                         size=200.0)
        sigma = np.sqrt(np.linalg.eigvalsh(g.blob_cov))  # minor, major
        compact = (sigma[:, 1] < 0.02 * g.size) & (sigma[:, 1] < 1.7 * sigma[:, 0])
        along, _ = _along(g)
        # the hotspots: one at each end, compact, each several per cent of the flux
        for side in (1, -1):
            tip = np.argmax(side * along)
            hot = compact & (side * along > 0.3 * g.size)
            assert hot.any() and g.blob_flux[hot].sum() > 0.03 * g.flux
            assert side * along[hot].max() > 0.9 * side * along[tip]
        # the lobes: most of the flux in wide blobs
        assert g.blob_flux[sigma[:, 0] > 0.03 * g.size].sum() > 0.5 * g.flux


def test_remnant_is_faint_amorphous_and_coreless():
    for seed in range(10):
        rem = radio_galaxy(np.random.default_rng(seed), "remnant", 200.0, 200.0, flux=0.05,
                           size=150.0)
        frii = radio_galaxy(np.random.default_rng(seed), "FRII", 200.0, 200.0, flux=0.05,
                            size=150.0)
        assert rem.core_flux == 0.0
        sigma = np.sqrt(np.linalg.eigvalsh(rem.blob_cov))
        assert sigma.min() > 0.02 * rem.size  # no hotspots, no jets
        assert _render(rem, 400).max() < 0.3 * _render(frii, 400).max()


@pytest.mark.parametrize("bend", [0.0, 1.0])
def test_narrow_angle_tails_trail_behind_the_host(bend):
    for seed in range(10):
        g = radio_galaxy(np.random.default_rng(seed), "NAT", 200.0, 200.0, flux=0.05,
                         size=150.0, angle=0.7, bend=bend)
        along, across = _along(g)
        # both jets are swept back into a tail on the side it points to (``angle``)
        assert np.sum(g.blob_flux * along) / g.blob_flux.sum() > 0.2 * g.size
        assert along.max() > 0.6 * g.size and along.min() > -0.05 * g.size
        if bend == 0:
            assert np.percentile(np.abs(across), 90) < 0.15 * g.size  # narrow


def test_wide_angle_tails_bend_both_arms_to_one_side():
    for seed in range(10):
        g = radio_galaxy(np.random.default_rng(seed), "WAT", 200.0, 200.0, flux=0.05,
                         size=150.0, angle=0.7, bend=1.0)
        along, across = _along(g)
        for side in (1, -1):  # the arms go out sideways, then bend towards ``angle``
            arm = side * across > 0
            assert (side * across[arm]).max() > 0.2 * g.size
            tip = np.argmax(np.hypot(along, across) * arm)
            assert along[tip] > 0.1 * g.size
    straight = radio_galaxy(np.random.default_rng(0), "FRI", 200.0, 200.0, flux=0.05,
                            size=150.0, angle=0.7)
    along, _ = _along(straight)
    assert along.min() < -0.2 * straight.size and along.max() > 0.2 * straight.size


def _peaks_along_axis(g, n):
    """Distances from the host of the local maxima of the profile along the axis."""
    image = _render(g, n, beam_sigma=0.02 * g.size)
    r = np.linspace(-0.6 * g.size, 0.6 * g.size, 600)
    profile = ndimage.map_coordinates(image, [g.y + r * np.sin(g.angle),
                                              g.x + r * np.cos(g.angle)], order=1)
    inner = (profile[1:-1] > profile[:-2]) & (profile[1:-1] > profile[2:])
    return r[1:-1][inner & (profile[1:-1] > 0.01 * profile.max())]


def test_double_double_has_two_nested_pairs_of_lobes():
    for seed in range(10):
        g = radio_galaxy(np.random.default_rng(seed), "double-double", 300.0, 300.0,
                         flux=0.1, size=250.0)
        peaks = _peaks_along_axis(g, 600)
        for side in (1, -1):
            distance = np.sort(side * peaks[side * peaks > 0.03 * g.size])
            # an inner lobe and, well beyond it, an outer one on each side
            assert distance.size >= 2 and distance[-1] > 1.6 * distance[0], (seed, peaks)


def test_unknown_kind_or_population_is_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"kind='head-tail' is not a radio-galaxy kind of "
                                         r"population='lomorph'; use one of"):
        radio_galaxy(rng, "head-tail", 0.0, 0.0, flux=1.0, size=10.0)
    with pytest.raises(ValueError, match=r"population='v0.3' is not a radio-galaxy "
                                         r"population; use 'lomorph'"):
        radio_galaxy(rng, "FRI", 0.0, 0.0, flux=1.0, size=10.0, population="v0.3")
    with pytest.raises(ValueError, match=r"radio_galaxy_population='LoMorph' is not a "
                                         r"radio-galaxy population"):
        SkyConfig(radio_galaxy_population="LoMorph")
    g = radio_galaxy(rng, "head-tail", 0.0, 0.0, flux=1.0, size=10.0, population="v0.2")
    assert g.kind == "head-tail"


# ---- clusters ------------------------------------------------------------------------

def test_cluster_radio_galaxies_grow_with_mass():
    p_low, n_low = cluster_radio_galaxy_rates(2e14)
    p_high, n_high = cluster_radio_galaxy_rates(1.5e15)
    assert p_high > p_low and n_high > n_low
    rng = np.random.default_rng(1)
    for mass, mean in ((2e14, n_low), (1.5e15, n_high)):
        rows = [sample_cluster_radio_galaxies(rng, mass, 0.2) for _ in range(3000)]
        tailed = np.mean([sum(r[1] == "tailed" for r in row) for row in rows])
        assert tailed == pytest.approx(mean, rel=0.1)
        assert {r[0] for row in rows for r in row if r[1] == "tailed"} == {"NAT", "WAT"}
        assert {r[0] for row in rows for r in row if r[1] == "central"} == {"small", "FRI"}
    # a nearby cluster's galaxies are brighter than the same galaxies far away
    near = sample_cluster_radio_galaxies(np.random.default_rng(2), 1.5e15, 0.05)
    far = sample_cluster_radio_galaxies(np.random.default_rng(2), 1.5e15, 0.5)
    assert [r[0] for r in near] == [r[0] for r in far]
    assert all(a[3] > 10 * b[3] for a, b in zip(near, far))


def test_clusters_without_diffuse_emission_have_radio_galaxies_too():
    kinds = []
    for seed in range(4):
        f = simulate_field((128, 128), seed=seed, n_clusters=3, diffuse_rates=NO_DIFFUSE,
                           mass_range=(1.2e15, 1.5e15), radio_galaxy_density=0, redshift=0.2)
        assert not f.mask.any() and (f.clusters["classification"] == "NDE").all()
        members = f.sources[f.sources["cluster"] >= 0]
        kinds += list(members["kind"])
    assert {"NAT", "WAT"} & set(kinds) and {"small", "FRI"} & set(kinds)


# ---- the field: table, footprints, truth ---------------------------------------------

@pytest.fixture(scope="module")
def busy_field():
    return simulate_field((256, 256), seed=7, n_clusters=2, diffuse_probability=1.0,
                          redshift=0.15, mass_range=(8e14, 1.5e15), radio_galaxy_density=800,
                          cluster_at_center=True)


def test_sources_table_records_kind_and_sizes(busy_field):
    f = busy_field
    galaxies = f.sources[f.sources["label"] == 0]
    assert len(galaxies) == len(f.radio_galaxies) == f.meta["n_radio_galaxies"] > 10
    assert set(galaxies["kind"]) <= set(RADIO_GALAXY_KINDS)
    assert np.all(np.isfinite(f.sources["angular_size"].to_value("arcsec")))
    field_rg = galaxies[galaxies["cluster"] < 0]
    assert np.all(np.isnan(field_rg["size"].value))
    members = galaxies[galaxies["cluster"] >= 0]
    assert len(members) > 0
    z = f.clusters["z"][members["cluster"]]
    scale = np.array([kpc_per_arcsec(zz) for zz in z])
    np.testing.assert_allclose(members["angular_size"].value * scale, members["size"].value,
                               rtol=1e-6)
    for row, g in zip(galaxies, f.radio_galaxies):
        assert row["kind"] == g.kind and row["x"] == pytest.approx(g.x)
        assert row["angular_size"].value == pytest.approx(g.size * f.config.pixel_scale)


def test_footprints_mark_radio_galaxies_not_the_truth(busy_field):
    f = busy_field
    footprints = f.radio_galaxy_footprints()
    assert footprints.shape == f.shape and footprints.dtype == np.int32
    labels = np.unique(footprints[footprints > 0])
    assert labels.size > 5
    assert np.all(f.sources["label"][labels - 1] == 0)  # rows of radio galaxies only
    inside = [k for k, g in enumerate(f.radio_galaxies)
              if 0 <= g.y < f.shape[0] and 0 <= g.x < f.shape[1] and g.flux > 0.01]
    first = len(f.sources) - len(f.radio_galaxies) + 1
    assert {first + k for k in inside} <= set(labels.tolist())
    assert footprints[footprints > 0].size < footprints.size
    # a higher threshold gives a smaller footprint
    assert (f.radio_galaxy_footprints(level=5.0) > 0).sum() < (footprints > 0).sum()
    with pytest.raises(ValueError, match="level=0 must be a positive number"):
        f.radio_galaxy_footprints(level=0)


def test_radio_galaxies_stay_out_of_the_truth_mask(busy_field):
    # The truth comes from the diffuse sky alone: with the v0.2 radio galaxies
    # (another number, other kinds and places) it is the same, pixel for pixel.
    other = simulate_field((256, 256), seed=7, n_clusters=2, diffuse_probability=1.0,
                           redshift=0.15, mass_range=(8e14, 1.5e15), radio_galaxy_density=800,
                           cluster_at_center=True, radio_galaxy_population="v0.2")
    assert busy_field.mask.any()
    np.testing.assert_array_equal(busy_field.mask, other.mask)
    np.testing.assert_array_equal(busy_field.labels, other.labels)
    assert not np.array_equal(busy_field.sky, other.sky)


# ---- the v0.2 population, bit for bit -------------------------------------------------

# Made with the package before the 'lomorph' population (commit 41829ee).
V02_CASES = [
    (dict(seed=3, n_clusters=2, radio_galaxy_density=300.0, mass_range=(1e15, 1.5e15)),
     [("FRII", 99.512462, -12.200505, 0.07465790087),
      ("FRI", 86.069544, 104.17091, 0.05709547224),
      ("FRI", 3.777311, 175.868451, 0.07626390043),
      ("FRII", 9.13288, 206.329254, 0.4858517116)],
     (5.785999088265495, 0.019560610614843973), (5.682889295560264, 0.019197690557481994)),
    (dict(seed=12, n_clusters=1, radio_galaxy_density=150.0, beam=20.0, pixel_scale=5.0,
          cluster_at_center=True),
     [("WAT", 127.790722, -2.509032, 0.1501267946),
      ("FRII", -3.574938, 142.518092, 0.05962824817),
      ("FRII", 92.809334, 188.239363, 0.2175314731),
      ("FRII", 55.868115, 158.534066, 0.2605283859),
      ("FRII", 169.491426, 189.284375, 0.007142664268),
      ("FRI", 165.470283, 79.720507, 0.01951627949),
      ("FRII", 39.345649, 50.639686, 0.1010730038),
      ("FRII", 61.66014, 113.21175, 0.02272008248),
      ("FRI", 169.204693, 5.369604, 0.715753591),
      ("FRI", 8.214132, 99.732436, 0.0243065442),
      ("FRII", 162.063293, 112.514105, 0.01075942575),
      ("FRI", -10.165677, 25.480211, 0.03713441976),
      ("FRII", 204.245408, -2.262245, 0.4280612567),
      ("FRI", 106.235861, 170.761264, 0.06102511295),
      ("WAT", 205.066431, 1.835057, 0.5577490236)],
     (33.494170640239396, 3.1893022978310324), (33.526306358283776, 3.188992830490692)),
]


@pytest.mark.parametrize(("keywords", "galaxies", "image", "sky"), V02_CASES)
def test_v02_population_gives_the_v02_sky(keywords, galaxies, image, sky):
    f = simulate_field((192, 192), radio_galaxy_population="v0.2", **keywords)
    rows = f.sources[f.sources["label"] == 0]
    got = [(str(k), round(float(x), 6), round(float(y), 6), float(f"{s.value:.10g}"))
           for k, x, y, s in zip(rows["kind"], rows["x"], rows["y"], rows["flux"])]
    assert got == galaxies
    assert set(rows["kind"]) <= set(V02_RADIO_GALAXY_KINDS)
    for array, (total, squares) in ((f.image, image), (f.sky, sky)):
        values = array.astype(float)
        assert np.nansum(values) == pytest.approx(total, rel=1e-9)
        assert np.nansum(values**2) == pytest.approx(squares, rel=1e-9)
    assert f.meta["radio_galaxy_population"] == "v0.2"


def test_sky_config_and_keyword_give_the_same_population():
    a = simulate_field((96, 96), seed=4, sky=SkyConfig(radio_galaxy_population="v0.2",
                                                       radio_galaxy_density=900))
    b = simulate_field((96, 96), seed=4, radio_galaxy_population="v0.2",
                       radio_galaxy_density=900)
    assert a.image.tobytes() == b.image.tobytes()
    with pytest.raises(TypeError, match="radio_galaxy_population='v0.2'"):
        simulate_field((96, 96), sky=SkyConfig(), radio_galaxy_population="v0.2")


def test_training_recipe_records_the_population():
    from astropy_radiounet.training.config import TrainingConfig

    assert TrainingConfig().field["radio_galaxy_population"] == "lomorph"
    v02 = TrainingConfig(field={"radio_galaxy_population": "v0.2", "noise_anisotropy": 1.0,
                                "artefact_style": "rings"})
    assert v02.field == {"noise_anisotropy": 1.0, "artefact_style": "rings",
                         "radio_galaxy_population": "v0.2"}
