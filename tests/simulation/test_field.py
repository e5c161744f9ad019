"""Tests of the simulated sky, instrument, truth and FITS output (small fields, fast)."""

import dataclasses

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.stats import mad_std
from astropy.wcs import WCS
from scipy import fft

from astropy_radiounet.simulation import (DEFAULT_DIFFUSE_RATES, LABELS, ClusterConfig,
                                          InstrumentConfig, PowerLawCounts, SkyConfig,
                                          simulate_field)
from astropy_radiounet.simulation.instrument import dirty_beam, instrument_kernels
from astropy_radiounet.simulation.realism import autocorrelation_fwhm, measure_realism

NO_DIFFUSE = {"halo": 0, "relic": 0, "mini_halo": 0, "bridge": 0, "filament": 0}


@pytest.fixture(scope="module")
def de_field():
    return simulate_field((192, 192), seed=11, n_clusters=1, diffuse_probability=1.0,
                          diffuse_rates={"halo": 1.0, "mini_halo": 0.0}, redshift=0.25,
                          mass_range=(6e14, 8e14), cluster_at_center=True)


@pytest.mark.parametrize("noise", [50e-6, 100e-6])
def test_noise_rms_matches_request(noise):
    f = simulate_field((256, 256), seed=2, n_clusters=0, noise=noise * u.Jy / u.beam,
                       noise_variation=0.0)
    assert mad_std(f.noise) == pytest.approx(noise, rel=0.04)
    assert float(np.median(f.rms)) == pytest.approx(noise)


def test_noise_variation_keeps_median():
    f = simulate_field((128, 128), seed=3, n_clusters=0, noise_variation=0.2)
    assert float(np.median(f.rms)) == pytest.approx(70e-6, rel=1e-3)
    assert f.rms.max() / f.rms.min() > 1.1


@pytest.mark.parametrize(("beam", "pixel"), [(6.0, 1.5), (20.0, 5.0)])
def test_noise_autocorrelation_is_the_beam(beam, pixel):
    f = simulate_field((256, 256), seed=4, n_clusters=0, beam=beam * u.arcsec,
                       pixel_scale=pixel * u.arcsec, noise_variation=0.0)
    fwhm = autocorrelation_fwhm(f.noise, pixel_scale=pixel * u.arcsec)
    assert fwhm.to_value(u.arcsec) == pytest.approx(beam, rel=0.05)


def test_point_source_has_beam_fwhm():
    cfg = InstrumentConfig()
    k = instrument_kernels(cfg, (64, 64))
    img = fft.irfft2(k.beam, s=(64, 64))  # a 1 Jy point source at (0, 0)
    img = fft.fftshift(img)
    assert img.max() == pytest.approx(1.0, rel=1e-3)  # Jy/beam
    yy, xx = np.mgrid[:64, :64] - 32
    var = np.sum(img * xx**2) / img.sum()
    fwhm = np.sqrt(8 * np.log(2) * var) * cfg.pixel_scale
    assert fwhm == pytest.approx(6.0, rel=0.02)


def test_bright_compact_source_peak_and_width():
    """The exact (sub-pixel) rendering of bright sources keeps flux and beam."""
    from astropy_radiounet.simulation.compact import splat_gaussians
    from astropy_radiounet.simulation._utils import beam_covariance

    img = np.zeros((41, 41))
    cov = beam_covariance(4.0, 4.0, 0.0)
    area = np.pi * 16 / (4 * np.log(2))
    splat_gaussians(img, [20.3], [19.6], [0.01 * area], cov[None])
    assert img.sum() / area == pytest.approx(0.01, rel=1e-3)
    assert img.max() == pytest.approx(0.01, rel=0.05)


def test_dirty_beam_has_sidelobes():
    psf = dirty_beam((128, 128))
    assert psf[64, 64] == pytest.approx(1.0)
    far = np.hypot(*np.mgrid[-64:64, -64:64]) > 8
    assert 1e-4 < np.std(psf[far]) < 0.05


def test_source_counts_slope():
    counts = PowerLawCounts(slope=-1.8)
    s = counts.sample(np.random.default_rng(0), 5.0, flux_range=(1e-4, 10.0))
    # maximum-likelihood slope of a truncated power law, by a 1-D search
    lo, hi = 1e-4, 10.0
    gammas = np.linspace(1.5, 2.1, 601)
    ll = [len(s) * np.log((g - 1) / (lo ** (1 - g) - hi ** (1 - g))) - g * np.log(s).sum()
          for g in gammas]
    assert gammas[int(np.argmax(ll))] == pytest.approx(1.8, abs=0.03)
    expected = counts.number(5.0, flux_range=(lo, hi))
    assert abs(len(s) - expected) < 5 * np.sqrt(expected)


def test_lotss_counts_density():
    from astropy_radiounet.simulation.compact import LoTSSCounts

    f = simulate_field((256, 256), seed=5, n_clusters=0, overdensities=False)
    # Sources are drawn over the image and its padding of 4 beams (16 pixels
    # of 1.5" for the 6" beam) on each side: 288 x 288 pixels.
    expected = LoTSSCounts().number((288 * 1.5 / 3600) ** 2, flux_range=(20e-6, 10.0))
    assert abs(f.meta["n_compact"] - expected) < 4 * np.sqrt(expected)


def test_mask_where_diffuse_is(de_field):
    f = de_field
    assert f.mask.any()
    np.testing.assert_array_equal(f.mask, f.diffuse_sky > 1e-3 * f.rms)
    assert ((f.labels > 0) <= f.mask).all()
    assert f.labels[96, 96] == LABELS["halo"]
    assert f.clusters["classification"][0] == "DE"
    assert "halo" in f.clusters["diffuse"][0]
    assert set(np.unique(f.labels)) <= {0, *LABELS.values()}


def test_halo_rows_hold_their_profile(de_field):
    """The source table gives a halo's e-folding radius and axis ratio, NaN elsewhere."""
    sources = de_field.sources
    halo = sources[sources["kind"] == "halo"]
    assert len(halo) == 1
    r_e = halo["r_e"][0].to_value(u.arcsec)
    # The halo's largest size is 6 r_e (truncated at 3 r_e on each side).
    assert r_e == pytest.approx(halo["angular_size"][0].to_value(u.arcsec) / 6, rel=1e-6)
    assert 0.6 <= halo["axis_ratio"][0] <= 1.0
    others = sources[~np.isin(sources["kind"], ["halo", "mini_halo"])]
    assert np.all(np.isnan(others["r_e"])) and np.all(np.isnan(others["axis_ratio"]))


def test_mask_level_is_configurable(de_field):
    f2 = simulate_field((192, 192), seed=11, n_clusters=1, diffuse_probability=1.0,
                        diffuse_rates={"halo": 1.0, "mini_halo": 0.0}, redshift=0.25,
                        mass_range=(6e14, 8e14), cluster_at_center=True, mask_level=0.5)
    assert f2.mask.sum() < de_field.mask.sum()
    np.testing.assert_array_equal(f2.image, de_field.image)


def test_mask_empty_without_diffuse_sources():
    f = simulate_field((128, 128), seed=6, n_clusters=2, diffuse_probability=0.0,
                       diffuse_rates=NO_DIFFUSE)
    assert not f.mask.any()
    assert not f.labels.any()
    assert np.all(f.diffuse_sky == 0)
    assert list(f.clusters["classification"]) == ["NDE", "NDE"]


def test_same_seed_same_bytes():
    a = simulate_field((96, 96), seed=7, n_clusters=1)
    b = simulate_field((96, 96), seed=7, n_clusters=1)
    c = simulate_field((96, 96), seed=8, n_clusters=1)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.mask.tobytes() == b.mask.tobytes()
    assert a.image.tobytes() != c.image.tobytes()


def test_fits_roundtrip(tmp_path, de_field):
    paths = de_field.write(tmp_path / "f")
    with fits.open(paths["image"]) as hdul:
        h = hdul[0].header
        assert hdul[0].data.shape == (1, 1, 192, 192)
        assert h["CTYPE3"] == "FREQ" and h["CTYPE4"] == "STOKES"
        assert h["BUNIT"] == "JY/BEAM"
        assert h["BMAJ"] == pytest.approx(6 / 3600)
        assert h["RESTFRQ"] == pytest.approx(144e6)
        w = WCS(h)
        assert w.naxis == 4
        np.testing.assert_allclose(hdul[0].data[0, 0], de_field.image)
    sky = w.celestial.pixel_to_world(de_field.clusters["x"][0], de_field.clusters["y"][0])
    assert sky.ra.deg == pytest.approx(de_field.clusters["ra"][0].value)
    with fits.open(paths["model"]) as hdul:
        assert [h.name for h in hdul][1:] == ["SKY", "DIFFUSE", "RMS", "MASK", "LABELS",
                                              "CLUSTERS", "SOURCES"]
        assert WCS(hdul["MASK"].header).celestial.wcs.compare(w.celestial.wcs)
        np.testing.assert_array_equal(hdul["MASK"].data[0, 0].astype(bool), de_field.mask)
    with pytest.raises(OSError, match="overwrite=True"):
        de_field.write(tmp_path / "f")


def test_blank_edges_and_beam_options():
    f = simulate_field((128, 128), seed=9, n_clusters=0, blank_edges=0.2,
                       beam=(20 * u.arcsec, 12 * u.arcsec, 30 * u.deg),
                       pixel_scale=4 * u.arcsec)
    assert np.isnan(f.image).mean() == pytest.approx(0.2, abs=0.02)
    assert np.array_equal(np.isnan(f.image), f.blank)
    assert f.header["BMIN"] == pytest.approx(12 / 3600)


def test_zero_diffuse_rates_are_honoured():
    for seed in range(4):
        f = simulate_field((128, 128), seed=seed, diffuse_probability=1.0,
                           diffuse_rates={"halo": 0.0, "mini_halo": 0.0, "relic": 0.3})
        kinds = {kind for value in f.clusters["diffuse"] for kind in str(value).split(",")}
        assert not kinds & {"halo", "mini_halo"}


def test_no_artefacts_option():
    a = simulate_field((96, 96), seed=10, artefacts=False)
    assert not a.artefacts.any()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"shape": (4, 4)}, "shape"),
    ({"beam": 1 * u.arcsec}, "beam"),
    ({"noise": 1 * u.m}, "noise"),
    ({"diffuse_rates": {"halos": 1}}, "diffuse_rates"),
    ({"n_clusters": -1}, "n_clusters"),
    ({"redshift": 0}, "redshift must be between 0.001 and 5"),
    ({"redshift": -0.1}, "redshift must be between"),
    ({"source_counts": "nvss"}, "source_counts"),
])
def test_clear_errors(kwargs, match):
    kw = {"shape": (64, 64), "seed": 0}
    kw.update(kwargs)
    with pytest.raises(ValueError, match=match):
        simulate_field(**kw)


def test_realism_measurements_on_gaussian_noise():
    rng = np.random.default_rng(0)
    m = measure_realism(rng.normal(0, 1e-4, (256, 256)))
    assert m["mad_std"] == pytest.approx(1e-4, rel=0.03)
    assert abs(m["skewness"]) < 0.05
    assert m["islands_per_deg2"] < 100


def test_simulated_field_is_lotss_like():
    """Broad realism: non-Gaussian positive tail and islands at survey-like density."""
    f = simulate_field((384, 384), seed=12, n_clusters=0)
    m = measure_realism(f.image)
    assert 60e-6 < m["mad_std"] < 100e-6
    assert m["skewness"] > 0.0
    assert m["frac_above_5"] > 3 * m["frac_below_5"]
    assert 200 < m["islands_per_deg2"] < 4000
    assert 4.5 < m["acf_fwhm"] < 8.0


# ---- the stage configs -------------------------------------------------------------------

def _same_field(a, b):
    for name in ("image", "sky", "diffuse_sky", "noise", "artefacts", "rms", "mask", "labels",
                 "blank"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    for name in ("clusters", "sources"):
        ta, tb = getattr(a, name), getattr(b, name)
        assert ta.colnames == tb.colnames
        for col in ta.colnames:
            np.testing.assert_array_equal(np.asarray(ta[col]), np.asarray(tb[col]), err_msg=col)
    assert a.header == b.header
    assert a.config == b.config


@pytest.mark.parametrize(("sky_kw", "cluster_kw", "instrument_kw"), [
    ({}, {}, {}),
    ({"center": (150.0, 2.0), "source_counts": -1.7, "flux_range": (0.05, 100) * u.mJy,
      "radio_galaxy_density": 80.0, "overdensities": False},
     {"n_clusters": 2, "redshift": 0.15, "mass_range": (5e14, 1e15) * u.Msun,
      "diffuse_probability": 1.0, "diffuse_rates": {"relic": 1.0, "bridge": 1.0},
      "cluster_at_center": True, "diffuse_scale": 3.0, "mask_level": 0.01},
     {"beam": (9 * u.arcsec, 7 * u.arcsec, 20 * u.deg), "pixel_scale": 2 * u.arcsec,
      "noise": 0.1 * u.mJy / u.beam, "noise_correlation": 12 * u.arcsec,
      "noise_variation": 0.3, "blank_edges": 0.25}),
])
def test_configs_give_the_keyword_field(sky_kw, cluster_kw, instrument_kw):
    """Configs and the equivalent keywords give the same field, bit for bit."""
    shape = (160, 128)
    by_keywords = simulate_field(shape, seed=21, **sky_kw, **cluster_kw, **instrument_kw)
    sky = SkyConfig(**sky_kw)
    instrument = InstrumentConfig.from_arguments(**instrument_kw,
                                                 declination=round(sky.center[1], 1))
    by_configs = simulate_field(shape, seed=21, sky=sky, clusters=ClusterConfig(**cluster_kw),
                                instrument=instrument)
    _same_field(by_keywords, by_configs)
    # one stage by config, the others by keywords
    mixed = simulate_field(shape, seed=21, clusters=ClusterConfig(**cluster_kw), **sky_kw,
                           **instrument_kw)
    _same_field(by_keywords, mixed)
    if cluster_kw:  # and the configs matter: another cluster config, another field
        other = simulate_field(shape, seed=21, sky=sky, instrument=instrument)
        assert other.image.tobytes() != by_configs.image.tobytes()


def test_configs_are_frozen_and_normalised():
    sky = SkyConfig(center=(10 * u.deg, -20 * u.deg), flux_range=(0.1, 100) * u.mJy)
    assert sky.center == (10.0, -20.0)
    assert sky.flux_range == pytest.approx((1e-4, 0.1))
    assert sky.center_coord.dec.deg == pytest.approx(-20.0)
    clusters = ClusterConfig(diffuse_rates={"halo": 1})
    assert dict(clusters.diffuse_rates) == {**DEFAULT_DIFFUSE_RATES, "halo": 1.0}
    with pytest.raises(TypeError):
        clusters.diffuse_rates["relic"] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        clusters.n_clusters = 3
    inst = InstrumentConfig(beam=20 * u.arcsec, pixel_scale=5 * u.arcsec,
                            noise=0.2 * u.mJy / u.beam, blank_edges=True)
    assert inst.beam == (20.0, 20.0, 0.0)
    assert inst.pixel_scale == 5.0
    assert inst.noise == pytest.approx(2e-4)
    assert inst.blank_edges == 0.15
    assert hash(inst) == hash(dataclasses.replace(inst))  # the kernel cache key


@pytest.mark.parametrize(("make", "match"), [
    (lambda: SkyConfig(flux_range=(1.0, 0.1)), r"flux_range=\(1\.0, 0\.1\)"),
    (lambda: SkyConfig(flux_range=(1, 10) * u.m), "flux_range=.* wrong unit"),
    (lambda: SkyConfig(radio_galaxy_density=-5), "radio_galaxy_density=-5 must be"),
    (lambda: SkyConfig(center="M31"), "center='M31' is not a sky position"),
    (lambda: SkyConfig(source_counts="nvss"), "source_counts='nvss'"),
    (lambda: ClusterConfig(n_clusters=-1), "n_clusters=-1 must be a non-negative integer"),
    (lambda: ClusterConfig(n_clusters=2.5), "n_clusters=2.5"),
    (lambda: ClusterConfig(redshift=7), "redshift must be between 0.001 and 5; got 7"),
    (lambda: ClusterConfig(redshift_range=(0.5, 0.1)), r"redshift_range=\(0\.5, 0\.1\)"),
    (lambda: ClusterConfig(mass_range=(1e15, 1e14)),
     r"mass_range=\(1000000000000000\.0, 100000000000000\.0\) must"),
    (lambda: ClusterConfig(diffuse_probability=1.5), "diffuse_probability=1.5"),
    (lambda: ClusterConfig(diffuse_rates={"halo": 2.0}), r"diffuse_rates\['halo'\]=2.0"),
    (lambda: ClusterConfig(diffuse_rates={"halos": 1.0}), "unknown keys .*'halos'"),
    (lambda: ClusterConfig(diffuse_rates=[0.5]), r"diffuse_rates=\[0.5\] must be a dict"),
    (lambda: ClusterConfig(diffuse_scale=-1.0), "diffuse_scale=-1.0 must be"),
    (lambda: ClusterConfig(mask_level=0), "mask_level=0 must be a positive number"),
    (lambda: InstrumentConfig(noise=-1e-4), "noise=-0.0001 must be finite and positive"),
    (lambda: InstrumentConfig(beam=2.0), r"beam=\(2.0, 2.0, 0.0\) .* 1.5 pixels"),
    (lambda: InstrumentConfig(declination=95.0), "declination=95.0 must lie"),
    (lambda: InstrumentConfig(blank_edges=1.5), r"blank_edges=1.5 must be a fraction in \[0, 1\)"),
    (lambda: InstrumentConfig(residual_fraction=(0.1, 2)), "residual_fraction="),
])
def test_bad_config_values_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(("configs", "keywords", "match"), [
    ({"instrument": InstrumentConfig()}, {"beam": 20 * u.arcsec},
     r"instrument=InstrumentConfig\(\.\.\.\) and also beam=<Quantity 20\. arcsec>"),
    ({"instrument": InstrumentConfig()}, {"blank_edges": True, "noise_variation": 0.2},
     "also noise_variation=0.2, blank_edges=True"),
    ({"sky": SkyConfig()}, {"radio_galaxy_density": 0.0},
     r"sky=SkyConfig\(\.\.\.\) and also radio_galaxy_density=0.0"),
    ({"clusters": ClusterConfig(n_clusters=2)}, {"n_clusters": 3},
     r"clusters=ClusterConfig\(\.\.\.\) and also n_clusters=3"),
    ({"clusters": ClusterConfig()}, {"diffuse_rates": {"halo": 1.0}},
     r"dataclasses.replace\(clusters, diffuse_rates=\.\.\.\)"),
])
def test_config_and_conflicting_keyword_are_refused(configs, keywords, match):
    with pytest.raises(TypeError, match=match):
        simulate_field((64, 64), seed=0, **configs, **keywords)


def test_config_with_keywords_at_their_defaults():
    """Keywords left at their defaults do not conflict: the config decides."""
    f = simulate_field((64, 64), seed=0, clusters=ClusterConfig(n_clusters=0), n_clusters=1,
                       instrument=InstrumentConfig(noise=1e-4), noise=70 * u.uJy / u.beam)
    assert len(f.clusters) == 0
    assert f.config.noise == 1e-4


def test_config_of_the_wrong_type_is_refused():
    with pytest.raises(TypeError, match="sky=ClusterConfig.* must be a SkyConfig or None"):
        simulate_field((64, 64), seed=0, sky=ClusterConfig())


@pytest.mark.parametrize("keywords, error, match", [
    ({"shape": (100000, 100000)}, MemoryError, r"needs about .* GiB, more than .* allowed"),
    ({"shape": (256, 256), "pixel_scale": 1e-6 * u.arcsec}, ValueError,
     "wider than the 256 x 256 field itself"),
    ({"shape": (256, 256), "beam": 100000 * u.arcsec}, ValueError, "wider than the"),
])
def test_sizes_nobody_meant_are_refused_up_front(keywords, error, match):
    with pytest.raises(error, match=match):
        simulate_field(seed=1, **keywords)


def test_noise_is_striped_as_lotss_and_isotropic_on_request():
    from astropy_radiounet.simulation.realism import noise_anisotropy

    def anisotropy(value):
        config = InstrumentConfig(noise_anisotropy=value, artefacts=False)
        return [noise_anisotropy(simulate_field((384, 384), seed=s, n_clusters=0,
                                                radio_galaxy_density=0,
                                                instrument=config).noise)
                for s in range(4)]

    assert 3.0 < np.median(anisotropy(4.2)) < 6.0  # LoTSS-DR1: 4.2
    assert np.median(anisotropy(1.0)) < 1.4
    with pytest.raises(ValueError, match="noise_anisotropy=0.5 is a ratio"):
        InstrumentConfig(noise_anisotropy=0.5)


def test_striped_noise_keeps_its_rms():
    field = simulate_field((384, 384), seed=2, n_clusters=0, radio_galaxy_density=0,
                           artefacts=False, noise_variation=0)
    assert mad_std(field.noise) == pytest.approx(70e-6, rel=0.05)


def test_bright_source_artefacts_are_spokes_bounded_by_saturation():
    from astropy_radiounet.simulation.instrument import spoke_patterns

    pattern = spoke_patterns((256, 256), 1.5, 6.0, 90.0, 1e-3, 1)[0]
    assert pattern[0, 0] == 0  # nothing on the source itself
    # Spokes: along a circle the sign changes many times, along a ray it does not.
    angles = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    ring = pattern[np.round(40 * np.sin(angles)).astype(int) % 256,
                   np.round(40 * np.cos(angles)).astype(int) % 256]
    ray = pattern[0, 10:60]
    assert np.count_nonzero(np.diff(np.sign(ring))) > 20
    assert np.count_nonzero(np.diff(np.sign(ray))) <= 2
