import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS
from photutils.segmentation import SegmentationImage

from astropy_radiounet import RadioUNetSegmenter
from radio_beam import Beam
from astropy_radiounet.cli.main import main
from astropy_radiounet.clusters.r500 import angular_radius, r500_from_m500
from astropy_radiounet.survey import image_stem
from astropy_radiounet.survey.search import candidate_catalog, search_mosaic, search_mosaics

from helpers import lotss_header, lotss_like_image


def test_candidate_catalog_measures_flux_and_nearest_cluster():
    header = lotss_header((100, 120), four_d=False)
    wcs = WCS(header).celestial
    image = np.random.default_rng(0).normal(0, 1e-4, (100, 120))  # white noise of 0.1 mJy
    image[40:50, 60:80] = 2e-3  # Jy/beam
    probability = np.zeros_like(image)
    probability[40:50, 60:80] = 0.8
    labels = np.zeros((100, 120), int)
    labels[40:50, 60:80] = 1
    beam = Beam(6 * u.arcsec)
    centre = wcs.pixel_to_world(69.5, 44.5)
    clusters = QTable({"name": ["near", "far"], "ra": [centre.ra, centre.ra + 1 * u.deg],
                       "dec": [centre.dec + 2 * u.arcmin, centre.dec], "z": [0.2, 0.2],
                       "r500": [1000, 1000] * u.kpc})
    table = candidate_catalog(image, probability, SegmentationImage(labels), wcs=wcs,
                              beam=beam, clusters=clusters)
    assert len(table) == 1
    row = table[0]
    beam_pixels = np.pi / (4 * np.log(2)) * (6 / 1.5) ** 2  # a Gaussian's area, in pixels
    assert row["flux"].to_value(u.Jy) == pytest.approx(200 * 2e-3 / beam_pixels)
    assert row["surface_brightness"].value == pytest.approx(2e-3)
    # The error: 10 per cent of the flux density and the noise over the beams.
    assert row["noise"].to_value(u.Jy / u.beam) == pytest.approx(1e-4, rel=0.05)
    expected_error = np.hypot(0.1 * row["flux"].to_value(u.Jy),
                              row["noise"].value * np.sqrt(200 / beam_pixels))
    assert row["flux_err"].to_value(u.Jy) == pytest.approx(expected_error)
    assert row["mean_probability"] == pytest.approx(0.8)
    assert row["max_probability"] == pytest.approx(0.8)
    assert row["area_angle"].to_value(u.arcmin**2) == pytest.approx(200 * 2.25 / 3600)
    assert row["nearest_cluster"] == "near"
    expected = (2 * u.arcmin / angular_radius(1000 * u.kpc, 0.2)).decompose().value
    assert row["cluster_distance_r500"] == pytest.approx(expected, rel=1e-3)


def one_candidate():
    """An image with one candidate, and the sky position of its centre."""
    wcs = WCS(lotss_header((100, 120), four_d=False)).celestial
    image = np.zeros((100, 120))
    image[40:50, 60:80] = 2e-3
    probability = np.where(image > 0, 0.8, 0.0)
    labels = SegmentationImage((image > 0).astype(int))
    return image, probability, labels, wcs, wcs.pixel_to_world(69.5, 44.5)


def test_nearest_cluster_r500_falls_back_to_m500_row_by_row():
    image, probability, labels, wcs, centre = one_candidate()
    m500 = 5e14 * u.Msun
    clusters = QTable({"name": ["near", "far"], "ra": [centre.ra, centre.ra + 1 * u.deg],
                       "dec": [centre.dec + 2 * u.arcmin, centre.dec], "z": [0.2, 0.2],
                       "r500": [np.nan, 1000] * u.kpc, "m500": [m500, m500]})
    row = candidate_catalog(image, probability, labels, wcs=wcs, clusters=clusters)[0]
    assert row["nearest_cluster"] == "near"
    r500_angle = angular_radius(r500_from_m500(m500, 0.2), 0.2)
    assert row["cluster_distance_r500"] == pytest.approx(
        (2 * u.arcmin / r500_angle).decompose().value, rel=1e-3)


def test_clusters_without_redshift_are_left_out_of_matching():
    image, probability, labels, wcs, centre = one_candidate()
    clusters = QTable({"name": ["unknown_z", "nan_z", "known"],
                       "ra": [centre.ra, centre.ra, centre.ra + 0.1 * u.deg],
                       "dec": [centre.dec] * 3, "z": [-1.0, np.nan, 0.2],
                       "r500": [1000, 1000, 1000] * u.kpc})
    with pytest.warns(AstropyUserWarning, match=r"2 of 3 clusters have no usable redshift or "
                      r"R500 .*\['unknown_z', 'nan_z'\]: they are left out"):
        row = candidate_catalog(image, probability, labels, wcs=wcs, clusters=clusters)[0]
    assert row["nearest_cluster"] == "known" and np.isfinite(row["cluster_distance_r500"])
    with pytest.warns(AstropyUserWarning, match="1 of 1 clusters"):
        table = candidate_catalog(image, probability, labels, wcs=wcs, clusters=clusters[:1])
    assert "nearest_cluster" not in table.colnames


def test_image_stem():
    assert [image_stem(name) for name in ("a/m.fits", "m.fits.gz", "m.FITS", "m.fit.bz2",
                                          "m.fts", "m.h5", ".fits", "P205+55.fits")] == [
        "m", "m", "m", "m", "m", "m.h5", ".fits", "P205+55"]


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_search_mosaics_writes_products_and_resumes(tmp_path, tiny_model_dir, capsys):
    shape = (200, 260)
    header = lotss_header(shape)
    data = lotss_like_image(shape, seed=4, blank_edge=6, halo_at=(100, 130))
    good = tmp_path / "mosaic.fits"
    fits.PrimaryHDU(data[np.newaxis, np.newaxis].astype(np.float32), header=header).writeto(
        good)
    broken = tmp_path / "broken.fits"
    fits.PrimaryHDU(data[np.newaxis, np.newaxis], header=header).writeto(broken)
    with open(broken, "r+b") as handle:
        handle.truncate(2880 * 3)
    segmenter = RadioUNetSegmenter(20, weights=tiny_model_dir / "tiny.json",
                                   tile_shape=(128, 128))
    probability = segmenter.predict_probability(good)
    segmenter.threshold = float(np.nanpercentile(probability, 80))
    centre = WCS(header).celestial.pixel_to_world(130, 100)
    # PSZ2 writes REDSHIFT = -1 when unknown: that cluster is left out, the search goes on.
    clusters = QTable({"name": ["c1", "no_z"], "ra": [centre.ra, centre.ra],
                       "dec": [centre.dec, centre.dec], "z": [0.3, -1.0],
                       "r500": [800, 800] * u.kpc})
    out = tmp_path / "search"
    with pytest.warns(AstropyUserWarning, match="1 of 2 clusters have no usable redshift"):
        table, summary = search_mosaics([good, broken], segmenter, out, clusters=clusters)
    assert summary["done"] == 1 and list(summary["failed"]) == [str(broken)]
    assert len(table) >= 1 and set(table["mosaic"]) == {str(good)}
    assert np.all(table["max_probability"] > segmenter.threshold)
    assert np.all(table["area"].value >= 20)
    assert set(table["nearest_cluster"]) == {"c1"}
    products = out / "mosaic"
    for name in ("candidates.ecsv", "mosaic_segments.reg", "mosaic_probability.fits",
                 "mosaic_segmentation.fits", "mosaic_gallery.png"):
        assert (products / name).exists(), name
    assert not list(products.glob("*.part*"))
    assert fits.getheader(products / "mosaic_probability.fits")["MODEL"] == segmenter.card.name
    np.testing.assert_allclose(fits.getdata(products / "mosaic_probability.fits"), probability,
                               atol=1e-6, equal_nan=True)
    # The rerun reuses the searched mosaic and searches the failed one again.
    with pytest.warns(AstropyUserWarning, match="1 of 2 clusters"):
        again, summary = search_mosaics([good, broken], segmenter, out, clusters=clusters)
    assert summary["skipped"] == 1 and summary["done"] == 0
    assert list(summary["failed"]) == [str(broken)]
    written = QTable.read(out / "candidates.ecsv")
    for column in ("label", "score", "mosaic", "nearest_cluster"):
        assert written[column].tolist() == table[column].tolist(), column  # the first run's
    # Other settings are refused rather than mixed with the earlier results.
    segmenter.threshold += 0.01
    with pytest.warns(AstropyUserWarning, match="1 of 2 clusters"), \
            pytest.raises(ValueError, match=r"other settings \(threshold was .*Use a new"):
        search_mosaics([good], segmenter, out, clusters=clusters)
    segmenter.threshold -= 0.01
    with pytest.raises(ValueError, match=r"other settings \(clusters was '[0-9a-f]+' and is "
                       r"now None\)"):
        search_mosaics([good], segmenter, out)


def test_search_command_reports_missing_files(tmp_path, capsys):
    assert main(["search", str(tmp_path / "none.fits")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_search_command_runs(tmp_path, tiny_model_dir, lotss_fits, capsys):
    card = tiny_model_dir / "tiny.json"
    status = main(["search", str(lotss_fits), "-o", str(tmp_path / "s"), "--weights",
                   str(card), "--threshold", "0.0", "--no-progress"])
    assert status == 0
    assert "candidates in" in capsys.readouterr().err
    assert (tmp_path / "s" / "field" / "candidates.ecsv").exists()


def test_search_in_chunks_equals_single_block(tmp_path, tiny_model_dir):
    """Small chunks give the same candidates and maps as one block."""
    shape = (230, 250)
    header = lotss_header(shape)
    data = lotss_like_image(shape, seed=9, blank_edge=5, halo_at=(120, 100))
    mosaic = tmp_path / "m.fits"
    fits.PrimaryHDU(data.astype(np.float32), header=header).writeto(mosaic)
    segmenter = RadioUNetSegmenter(10, weights=tiny_model_dir / "tiny.json",
                                   tile_shape=(128, 128))
    probability = segmenter.predict_probability(mosaic)
    segmenter.threshold = float(np.nanpercentile(probability, 70))
    single = search_mosaic(mosaic, segmenter, tmp_path / "single", chunk_size=1000)
    chunked = search_mosaic(mosaic, segmenter, tmp_path / "chunked", chunk_size=32)
    assert len(single) > 3
    for column in ("label", "x", "y", "area", "flux", "mean_probability", "bbox_xmin",
                   "bbox_ymax"):
        np.testing.assert_allclose(u.Quantity(chunked[column]).value,
                                   u.Quantity(single[column]).value, rtol=1e-5)
    assert np.all(chunked["sky_centroid"].separation(single["sky_centroid"]) < 1e-3 * u.arcsec)
    np.testing.assert_array_equal(fits.getdata(tmp_path / "chunked" / "m_segmentation.fits"),
                                  fits.getdata(tmp_path / "single" / "m_segmentation.fits"))
    assert (tmp_path / "chunked" / "m_segments.reg").read_text() == (
        tmp_path / "single" / "m_segments.reg").read_text()


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_search_on_a_distributed_client_equals_serial(tmp_path, tiny_model_dir):
    distributed = pytest.importorskip("distributed")
    paths = []
    for i in range(2):
        shape = (150, 170)
        data = lotss_like_image(shape, seed=20 + i, halo_at=(70, 80))
        paths.append(tmp_path / f"m{i}.fits")
        fits.PrimaryHDU(data.astype(np.float32), header=lotss_header(shape)).writeto(paths[-1])
    segmenter = RadioUNetSegmenter(weights=str(tiny_model_dir / "tiny.json"), threshold=0.45,
                                   n_pixels=10, tile_shape=(128, 128))
    with pytest.raises(TypeError, match="segmenter must be a RadioUNetSegmenter"):
        search_mosaics(paths, str(tiny_model_dir / "tiny.json"), tmp_path / "x", parallel=2)
    with distributed.LocalCluster(n_workers=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        table, summary = search_mosaics(paths, segmenter, tmp_path / "dist",
                                        parallel="current-scheduler")
    serial, _ = search_mosaics(paths, segmenter, tmp_path / "serial")
    assert summary["done"] == 2 and not summary["failed"] and summary["seconds"] >= 0
    assert len(table) == len(serial)
    np.testing.assert_allclose(table["score"], serial["score"], rtol=1e-6)


def test_mosaics_with_the_same_file_name_are_refused(tmp_path, tiny_model_dir):
    segmenter = RadioUNetSegmenter(weights=str(tiny_model_dir / "tiny.json"))
    for names in (["a/m.fits", "b/m.fits"], ["m.fits", "m.fits.gz"], ["M.fits", "m.fit"]):
        paths = [str(tmp_path / name) for name in names]
        with pytest.raises(ValueError, match=f"share a name once their FITS and compression "
                           f"suffixes are removed \\('{image_stem(names[0])}': "):
            search_mosaics(paths, segmenter, tmp_path / "out")


def test_compressed_mosaic_products_are_named_without_suffixes(tmp_path, tiny_model_dir):
    shape = (150, 170)
    path = tmp_path / "field.fits.gz"
    fits.PrimaryHDU(lotss_like_image(shape, seed=5).astype(np.float32),
                    header=lotss_header(shape)).writeto(path)
    segmenter = RadioUNetSegmenter(10, weights=tiny_model_dir / "tiny.json",
                                   tile_shape=(128, 128), threshold=0.45)
    _, summary = search_mosaics([path], segmenter, tmp_path / "out")
    assert summary["done"] == 1
    assert (tmp_path / "out" / "field" / "candidates.ecsv").is_file()


def test_search_command_with_local_workers(tmp_path, tiny_model_dir, lotss_fits, capsys):
    pytest.importorskip("distributed")
    status = main(["search", str(lotss_fits), "-o", str(tmp_path / "w"), "--weights",
                   str(tiny_model_dir / "tiny.json"), "--threshold", "0.0", "--workers", "1",
                   "--no-progress"])
    assert status == 0
    assert "1 mosaics searched now" in capsys.readouterr().err
    assert (tmp_path / "w" / "field" / "candidates.ecsv").exists()
