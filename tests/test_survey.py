import json

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable, Table
from astropy.utils.exceptions import AstropyUserWarning

from astropy_radiounet.clusters.catalogs import catalog_r500, read_cluster_catalog
from astropy_radiounet.cli.main import main
from astropy_radiounet.clusters.r500 import r500_from_m500
from astropy_radiounet import RadioUNetSegmenter
from astropy_radiounet.survey import MosaicIndex, classify_clusters

from helpers import lotss_header, lotss_like_image

SHAPE = (320, 320)  # 8 arcmin at 1.5"


def write_mosaic(path, ra, seed):
    header = lotss_header(SHAPE, crval1=ra, crval2=55.0)
    data = lotss_like_image(SHAPE, seed=seed)
    fits.PrimaryHDU(data[np.newaxis, np.newaxis].astype(np.float32), header=header).writeto(
        path)
    return path


@pytest.fixture()
def survey(tmp_path, tiny_model_dir):
    """Two overlapping mosaics, a truncated one, and a catalogue."""
    a = write_mosaic(tmp_path / "A.fits", 205.0, 1)
    b = write_mosaic(tmp_path / "B.fits", 205.1, 2)  # ~3.4' east: overlaps A
    c = write_mosaic(tmp_path / "C.fits", 206.0, 3)
    with open(c, "r+b") as handle:  # cut the pixel data short: a corrupt file
        handle.truncate(2880 * 5)
    catalog = Table({
        "NAME": ["in_A", "overlap", "far_away", "corrupt", "by_mass"],
        "RA": [204.96, 205.05, 210.0, 206.0, 205.1],
        "DEC": [55.0, 55.0, 50.0, 55.0, 55.01],
        "REDSHIFT": [0.5, 0.5, 0.3, 0.4, 0.6],
        "R500": [0.3, 0.3, 0.8, 0.3, np.nan] * u.Mpc,
        "M500": [1e14, 1e14, 3e14, 1e14, 1.5e14] * u.Msun,
    })
    path = tmp_path / "clusters.ecsv"
    catalog.write(path)
    segmenter = RadioUNetSegmenter(weights=str(tiny_model_dir / "tiny.json"),
                                   tile_shape=(128, 128))
    return {"images": [a, b, c], "catalog": path, "segmenter": segmenter, "dir": tmp_path}


def test_catalog_columns_found_and_units_required(tmp_path):
    table = Table({"Cluster": ["a"], "RAdeg": [1.0], "DEdeg": [2.0], "z": [0.1],
                   "MSZ": [6.0]})
    with pytest.raises(ValueError, match="has no unit; say what it is"):
        read_cluster_catalog(table)
    catalog = read_cluster_catalog(table, units={"m500": 1e14 * u.Msun})
    assert catalog["m500"][0] == 6e14 * u.Msun and catalog["ra"][0] == 1 * u.deg
    with pytest.raises(ValueError, match="no column for \\['z'\\]"):
        read_cluster_catalog(Table({"ra": [1.0], "dec": [2.0], "m500": [1e14] * u.Msun}))
    with pytest.raises(ValueError, match="names no column"):
        read_cluster_catalog(table, columns={"z": "ZZ"})
    with pytest.raises(ValueError, match=r"unique.*repeats \['a'\]"):
        read_cluster_catalog(Table({"name": ["a", "a"], "ra": [1, 2], "dec": [1, 2],
                                    "z": [0.1, 0.2], "r500": [1, 1] * u.Mpc}))
    (tmp_path / "bad.ecsv").write_text("not a table")
    with pytest.raises(ValueError, match="Cannot read the cluster catalogue"):
        read_cluster_catalog(tmp_path / "bad.ecsv")


def test_catalog_r500_falls_back_to_m500_row_by_row():
    m500 = 3e14 * u.Msun
    catalog = QTable({"z": [0.2, 0.2, 0.3, -1.0, np.nan, 0.2],
                      "r500": [900, np.nan, 0, 800, np.nan, np.nan] * u.kpc,
                      "m500": [m500, m500, m500, m500, m500, np.nan * u.Msun]})
    r500 = catalog_r500(catalog)
    assert r500.unit == u.kpc and r500[0] == 900 * u.kpc and r500[3] == 800 * u.kpc
    assert u.allclose(r500[1:3], r500_from_m500(m500, [0.2, 0.3]))  # NaN or 0: unknown
    assert np.isnan(r500[4]) and np.isnan(r500[5])  # no redshift / no mass
    only_mass = QTable({"z": [0.2, -1.0], "m500": [m500, m500]})
    assert np.isfinite(catalog_r500(only_mass)[0]) and np.isnan(catalog_r500(only_mass)[1])


def test_mosaic_choice_prefers_best_coverage(survey):
    from astropy.coordinates import SkyCoord

    index = MosaicIndex(survey["images"][:2])
    in_a = SkyCoord(204.96 * u.deg, 55 * u.deg)
    mosaic, coverage = index.best(in_a, 1 * u.arcmin)
    assert mosaic.path.endswith("A.fits") and coverage == 1.0
    mosaic, _ = index.best(SkyCoord(210 * u.deg, 50 * u.deg), 1 * u.arcmin)
    assert mosaic is None


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_classify_records_every_cluster_and_resumes(survey):
    catalog = read_cluster_catalog(survey["catalog"])
    out = survey["dir"] / "out"
    table, counts = classify_clusters(catalog, survey["images"], output_dir=out,
                                      segmenter=survey["segmenter"], ratio_threshold=0.4,
                                      products=True)
    assert list(table["name"]) == ["in_A", "overlap", "far_away", "corrupt", "by_mass"]
    status = dict(zip(table["name"], table["status"]))
    assert status == {"in_A": "ok", "overlap": "ok", "far_away": "off_footprint",
                      "corrupt": "failed", "by_mass": "ok"}
    assert counts["done"] == 5 and counts["failed"] == 1 and counts["off_footprint"] == 1
    row = table[0]
    assert row["mosaic"].endswith("A.fits") and 0 <= row["ratio"] <= 1
    assert row["coverage"] == pytest.approx(1.0) and row["detected"] == (row["ratio"] > 0.4)
    assert table["r500"][4].to_value(u.kpc) > 0  # from M500
    assert table["coverage"][4] > 0.99 and "partial" not in table["flags"][4]
    assert (out / "products" / "in_A_overlay.png").exists()
    assert (out / "products" / "in_A_probability.fits").exists()
    # A killed run: one unit missing and a stray partial file, and one cluster recorded
    # as failed by on_failure (as are all those pending when a process pool breaks).
    # The rerun redoes those two, and the clusters without a measurement (failed,
    # off the footprint); it reuses only the measured ones.
    (out / "units" / "overlap.json").unlink()
    (out / "units" / "overlap.json.123.part").write_text("{")
    unit = json.loads((out / "units" / "in_A.json").read_text())
    unit.update(status="failed", reason="BrokenProcessPool: a process terminated abruptly",
                ratio=float("nan"))
    (out / "units" / "in_A.json").write_text(json.dumps(unit))
    again, counts = classify_clusters(catalog, survey["images"], output_dir=out,
                                      segmenter=survey["segmenter"], ratio_threshold=0.4)
    assert counts["done"] == 4 and counts["skipped"] == 1 and counts["failed"] == 1
    for name in ("name", "ratio", "status", "mosaic"):
        assert list(again[name].astype(str)) == list(table[name].astype(str))
    final = QTable.read(out / "clusters_classified.ecsv")
    assert len(final) == 5 and final["r500"].unit == u.kpc
    # A cluster measured before whose catalogue values changed is measured again.
    catalog["z"][0] = 0.45
    with pytest.warns(AstropyUserWarning, match="1 clusters measured in an earlier run have "
                      "other catalogue values now \\(e.g. 'in_A'\\)"):
        changed, counts = classify_clusters(catalog, survey["images"], output_dir=out,
                                            segmenter=survey["segmenter"], ratio_threshold=0.4)
    assert counts["skipped"] == 2 and changed["z"][0] == 0.45
    assert changed["radius"][0] != table["radius"][0]
    # Products asked for now are made for a measured cluster that lacks them.
    (out / "products" / "by_mass_overlay.png").unlink()
    _, counts = classify_clusters(catalog, survey["images"], output_dir=out,
                                  segmenter=survey["segmenter"], ratio_threshold=0.4,
                                  products=True)
    assert counts["skipped"] == 2 and (out / "products" / "by_mass_overlay.png").exists()


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_rerun_with_other_settings_is_refused(survey, coarse_model_dir):
    catalog = read_cluster_catalog(survey["catalog"])[:1]
    out = survey["dir"] / "out"
    classify_clusters(catalog, survey["images"][:1], output_dir=out,
                      segmenter=survey["segmenter"], ratio_threshold=0.4)
    manifest = json.loads((out / "classify_manifest.json").read_text())
    assert manifest["settings"]["ratio_threshold"] == 0.4
    assert manifest["settings"]["model"]["weights_sha256"]
    refused = [({"ratio_threshold": 0.5}, "ratio_threshold was 0.4 and is now 0.5"),
               ({"factor": 1.0}, "factor was 2.2 and is now 1.0"),
               ({"segmenter": RadioUNetSegmenter(weights=str(coarse_model_dir / "coarse.json"))},
                "model.card_sha256 was '[0-9a-f]+' and is now '[0-9a-f]+'; "
                "model.weights_sha256 was")]
    for change, message in refused:
        options = {"segmenter": survey["segmenter"], "ratio_threshold": 0.4, **change}
        with pytest.raises(ValueError, match=f"holds results of a run with other settings "
                           f"\\({message}.*Use a new output directory"):
            classify_clusters(catalog, survey["images"][:1], output_dir=out, **options)
    (out / "classify_manifest.json").unlink()
    with pytest.raises(ValueError, match="holds results but no run manifest"):
        classify_clusters(catalog, survey["images"][:1], output_dir=out,
                          segmenter=survey["segmenter"], ratio_threshold=0.4)


def test_clusters_without_redshift_or_size_are_recorded_not_raised(survey):
    catalog = QTable({"name": ["in_A", "psz2_unknown_z", "nan_z", "no_size"],
                      "ra": [204.96, 204.97, 204.98, 204.99] * u.deg,
                      "dec": [55.0] * 4 * u.deg, "z": [0.5, -1.0, np.nan, 0.5],
                      "r500": [300, 300, np.nan, np.nan] * u.kpc,
                      "m500": [1e14, 1e14, 1e14, np.nan] * u.Msun})
    out = survey["dir"] / "no_z"
    for run in range(2):  # the unmeasured clusters are looked at again by a rerun
        with pytest.warns(AstropyUserWarning, match="2 clusters have no usable redshift .*"
                          "1 clusters have neither a usable R500 nor M500"):
            table, counts = classify_clusters(catalog, survey["images"][:1], output_dir=out,
                                              segmenter=survey["segmenter"],
                                              ratio_threshold=0.4)
        assert counts["no_redshift"] == 2 and counts["no_size"] == 1
        assert counts["skipped"] == run and counts["done"] == 4 - run
    assert list(table["status"]) == ["ok", "no_redshift", "no_redshift", "no_size"]
    assert np.isfinite(table["ratio"][0]) and np.all(np.isnan(table["ratio"][1:]))
    assert table["r500"][1] == 300 * u.kpc and np.isnan(table["radius"][1])
    assert "redshift is unknown" in table["reason"][1]


def test_names_sharing_a_unit_file_are_refused(survey):
    for names in (["Abell 2256", "Abell_2256"], ["A2256", "a2256"]):
        catalog = QTable({"name": names, "ra": [204.96, 204.97] * u.deg,
                          "dec": [55.0, 55.0] * u.deg, "z": [0.5, 0.5],
                          "r500": [300, 300] * u.kpc})
        out = survey["dir"] / names[1]
        with pytest.raises(ValueError, match=f"Cluster names '{names[0]}' and '{names[1]}' "
                           f"would share one result file.*--column name="):
            classify_clusters(catalog, survey["images"][:1], output_dir=out,
                              segmenter=survey["segmenter"], ratio_threshold=0.4)
        assert not out.exists()


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_classify_on_a_distributed_client(survey):
    distributed = pytest.importorskip("distributed")
    catalog = read_cluster_catalog(survey["catalog"])[:2]
    with distributed.LocalCluster(n_workers=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        table, counts = classify_clusters(catalog, survey["images"],
                                          output_dir=survey["dir"] / "dist",
                                          segmenter=survey["segmenter"], ratio_threshold=0.4,
                                          parallel="current-scheduler")
    serial, _ = classify_clusters(catalog, survey["images"], output_dir=survey["dir"] / "ser",
                                  segmenter=survey["segmenter"], ratio_threshold=0.4)
    np.testing.assert_allclose(table["ratio"], serial["ratio"], atol=1e-6)


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_classify_command(survey, capsys):
    status = main(["classify", "--catalog", str(survey["catalog"]), "--images",
                   *map(str, survey["images"]), "-o", str(survey["dir"] / "cli"),
                   "--weights", survey["segmenter"].weights, "--ratio-threshold", "0.4",
                   "--no-progress"])
    assert status == 0
    assert "5 clusters" in capsys.readouterr().err
    units = sorted(p.name for p in (survey["dir"] / "cli" / "units").glob("*.json"))
    assert len(units) == 5
    assert json.loads((survey["dir"] / "cli" / "units" / "corrupt.json").read_text())[
        "status"] == "failed"
    assert main(["classify", "--catalog", str(survey["catalog"]), "--images", "nope.fits"]) == 2
    assert main(["classify", "--catalog", str(survey["catalog"]), "--images",
                 str(survey["images"][0]), "--column", "bad"]) == 2


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_classify_measure_and_upper_limits(survey):
    """--measure adds columns with units and the P-M plot; --upper-limits the limits."""
    catalog = read_cluster_catalog(survey["catalog"])[:2]
    out = survey["dir"] / "measured"
    plain, _ = classify_clusters(catalog, survey["images"], output_dir=out,
                                 segmenter=survey["segmenter"], ratio_threshold=0.4,
                                 limit_segmentations=3)
    assert "flux" not in plain.colnames and not (out / "power_mass.png").exists()
    # A rerun with --measure measures the clusters of the plain run again.
    table, counts = classify_clusters(
        catalog, survey["images"], output_dir=out, segmenter=survey["segmenter"],
        ratio_threshold=0.4, measure=True, upper_limits=True, products=True,
        limit_segmentations=3)
    assert counts["done"] == 2 and counts["skipped"] == 0
    assert table["flux"].unit == u.mJy and table["power_150"].unit == u.W / u.Hz
    assert table["las"].unit == u.arcmin and table["halo_r_e"].unit == u.kpc
    assert table["limit_flux"].unit == u.mJy and table["limit_r_e"].unit == u.kpc
    for row in table:
        flags = str(row["measure_flags"]).split(",")
        if row["n_segments"] == 0:
            assert "no_segment" in flags and np.isnan(row["flux"])
        else:
            assert row["flux_err"] > 0 * u.mJy and row["las"] > 0 * u.arcmin
        if row["detected"]:
            assert np.isnan(row["limit_flux"]) and row["limit_flags"] == ""
    assert (out / "power_mass.png").stat().st_size > 0
    assert (out / "products" / "in_A_compact_subtracted.fits").exists()
    final = QTable.read(out / "clusters_classified.ecsv")
    assert final["flux"].unit == u.mJy and "limit_power_150" in final.colnames
    manifest = json.loads((out / "classify_manifest.json").read_text())
    assert manifest["settings"]["measurement"]["alpha"] == -1.3
    # Clusters without a detection get limits (a threshold no cluster reaches).
    limited, _ = classify_clusters(catalog, survey["images"], output_dir=survey["dir"] / "lim",
                                   segmenter=survey["segmenter"], ratio_threshold=0.99,
                                   upper_limits=True, limit_segmentations=3)
    assert not limited["detected"].any() and "flux" not in limited.colnames
    for row in limited:
        assert np.isfinite(row["limit_flux"]) or row["limit_flags"] == "not_bracketed"
        assert row["limit_r_e"].to_value(u.kpc) == pytest.approx(
            0.15 * row["r500"].to_value(u.kpc))
    # Everything asked for is there: a rerun reuses it all.
    _, counts = classify_clusters(catalog, survey["images"], output_dir=out,
                                  segmenter=survey["segmenter"], ratio_threshold=0.4,
                                  measure=True, upper_limits=True, limit_segmentations=3)
    assert counts["skipped"] == 2
    # Other measurement settings would mix results: refused.
    with pytest.raises(ValueError, match="measurement.alpha was -1.3 and is now -1.0"):
        classify_clusters(catalog, survey["images"], output_dir=out,
                          segmenter=survey["segmenter"], ratio_threshold=0.4, measure=True,
                          alpha=-1.0)


@pytest.mark.parametrize("keywords, match", [
    (dict(alpha=7.0), "alpha is a spectral index"),
    (dict(flux_scale_error=1.5), "flux_scale_error is a fraction"),
    (dict(limit_segmentations=1), "limit_segmentations must be at least 2"),
])
def test_classify_measurement_settings_are_checked(survey, keywords, match):
    catalog = read_cluster_catalog(survey["catalog"])[:1]
    with pytest.raises(ValueError, match=match):
        classify_clusters(catalog, survey["images"], output_dir=survey["dir"] / "bad",
                          segmenter=survey["segmenter"], measure=True, **keywords)


def test_classify_command_measure(survey, capsys):
    out = survey["dir"] / "cli-measure"
    status = main(["classify", "--catalog", str(survey["catalog"]), "--images",
                   *map(str, survey["images"][:2]), "-o", str(out),
                   "--weights", survey["segmenter"].weights, "--ratio-threshold", "0.4",
                   "--measure", "--alpha", "-1.2", "--no-progress"])
    assert status == 0
    assert "power_mass.png" in capsys.readouterr().err
    table = QTable.read(out / "clusters_classified.ecsv")
    assert "power_150" in table.colnames and "limit_flux" not in table.colnames
    manifest = json.loads((out / "classify_manifest.json").read_text())
    assert manifest["settings"]["measurement"]["alpha"] == -1.2
