import json

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable, Table

from astropy_radiounet.catalogs import read_cluster_catalog
from astropy_radiounet.cli import main
from astropy_radiounet.survey import MosaicIndex, SegmenterSettings, classify_clusters

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
    settings = SegmenterSettings(weights=str(tiny_model_dir / "tiny.json"),
                                 tile_shape=(128, 128))
    return {"images": [a, b, c], "catalog": path, "settings": settings, "dir": tmp_path}


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
    with pytest.raises(ValueError, match="unique"):
        read_cluster_catalog(Table({"name": ["a", "a"], "ra": [1, 2], "dec": [1, 2],
                                    "z": [0.1, 0.2], "r500": [1, 1] * u.Mpc}))
    (tmp_path / "bad.ecsv").write_text("not a table")
    with pytest.raises(ValueError, match="Cannot read the cluster catalogue"):
        read_cluster_catalog(tmp_path / "bad.ecsv")


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
                                      settings=survey["settings"], ratio_threshold=0.4,
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
    # A killed run: one unit missing and a stray partial file; the rerun does only that one.
    (out / "units" / "overlap.json").unlink()
    (out / "units" / "overlap.json.123.part").write_text("{")
    again, counts = classify_clusters(catalog, survey["images"], output_dir=out,
                                      settings=survey["settings"], ratio_threshold=0.4)
    assert counts["done"] == 1 and counts["skipped"] == 4
    for name in ("name", "ratio", "status", "mosaic"):
        assert list(again[name].astype(str)) == list(table[name].astype(str))
    final = QTable.read(out / "clusters_classified.ecsv")
    assert len(final) == 5 and final["r500"].unit == u.kpc


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_classify_on_a_distributed_client(survey):
    distributed = pytest.importorskip("distributed")
    catalog = read_cluster_catalog(survey["catalog"])[:2]
    with distributed.LocalCluster(n_workers=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        table, counts = classify_clusters(catalog, survey["images"],
                                          output_dir=survey["dir"] / "dist",
                                          settings=survey["settings"], ratio_threshold=0.4,
                                          parallel="current-scheduler")
    serial, _ = classify_clusters(catalog, survey["images"], output_dir=survey["dir"] / "ser",
                                  settings=survey["settings"], ratio_threshold=0.4)
    np.testing.assert_allclose(table["ratio"], serial["ratio"], atol=1e-6)


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_classify_command(survey, capsys):
    status = main(["classify", "--catalog", str(survey["catalog"]), "--images",
                   *map(str, survey["images"]), "-o", str(survey["dir"] / "cli"),
                   "--weights", survey["settings"].weights, "--ratio-threshold", "0.4",
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
