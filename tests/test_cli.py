import argparse

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from regions import Regions

from astropy_radiounet.cli.main import COMMANDS as COMMAND_MODULES
from astropy_radiounet.cli.main import build_parser, main
from astropy_radiounet.models.card import ModelCard


@pytest.fixture()
def low_threshold_card(tiny_model_dir, tmp_path):
    """The tiny model with a threshold low enough for random weights to find segments."""
    card = ModelCard.read(tiny_model_dir / "tiny.json")
    card.threshold = 0.3
    card.weights = str(tiny_model_dir / "tiny.weights.h5")
    return card.write(tmp_path / "low.json")


def test_segment_writes_the_four_outputs(lotss_fits, low_threshold_card, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["segment", str(lotss_fits), "--weights", str(low_threshold_card),
                   "--output-dir", str(out), "--tile-size", "128", "--no-progress"])
    assert status == 0
    probability = fits.getdata(out / "field_probability.fits")
    header = fits.getheader(out / "field_probability.fits")
    assert probability.shape == (150, 170) and np.isnan(probability[:8]).all()
    assert WCS(header).has_celestial and header["THRESH"] == 0.3
    labels = fits.getdata(out / "field_segmentation.fits")
    assert labels.shape == (150, 170) and labels.max() >= 1
    assert np.all(probability[labels > 0] > 0.3)
    regions = Regions.read(out / "field_segments.reg", format="ds9")
    assert len(regions) == len(np.unique(labels[labels > 0]))
    png = (out / "field_overlay.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    n_segments = len(np.unique(labels[labels > 0]))
    summary = f"{n_segments} segment{'s' if n_segments != 1 else ''} ("
    assert summary in capsys.readouterr().err


def test_rerun_resumes_and_another_models_outputs_are_kept(lotss_fits, low_threshold_card,
                                                           tmp_path, capsys):
    arguments = ["segment", str(lotss_fits), "--weights", str(low_threshold_card),
                 "--output-dir", str(tmp_path), "--tile-size", "128", "--no-progress"]
    assert main(arguments) == 0
    capsys.readouterr()
    before = (tmp_path / "field_probability.fits").read_bytes()
    # The same model again: the image is done, and skipped.
    assert main(arguments) == 0
    assert "done before" in capsys.readouterr().err
    assert (tmp_path / "field_probability.fits").read_bytes() == before
    # A run killed while writing: the missing products are made again.
    (tmp_path / "field_overlay.png").unlink()
    assert main(arguments) == 0
    assert "done before" not in capsys.readouterr().err
    assert (tmp_path / "field_overlay.png").exists()
    # Another threshold: the earlier products are not replaced without --overwrite.
    assert main([*arguments, "--threshold", "0.9"]) == 2
    assert "use --overwrite" in capsys.readouterr().err
    assert (tmp_path / "field_probability.fits").read_bytes() == before
    assert main([*arguments, "--threshold", "0.9", "--overwrite"]) == 0


def test_unreadable_files_are_reported_and_others_still_run(lotss_fits, low_threshold_card,
                                                            tmp_path, capsys):
    broken = tmp_path / "broken.fits"
    broken.write_text("not fits")
    status = main(["segment", str(broken), str(lotss_fits), "--weights",
                   str(low_threshold_card), "--output-dir", str(tmp_path / "o"),
                   "--tile-size", "128", "--no-progress"])
    assert status == 1
    assert "broken.fits" in capsys.readouterr().err
    assert (tmp_path / "o" / "field_probability.fits").exists()
    assert not (tmp_path / "o" / "broken_probability.fits").exists()


def test_missing_file_and_no_images(tmp_path, capsys):
    assert main(["segment", str(tmp_path / "nope.fits"), "--weights", "x.json"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["segment"]) == 2
    assert "no images given" in capsys.readouterr().err


def test_default_model_missing_is_explained(capsys, tmp_path):
    assert main(["segment", "--example", "--backbone", "attention_unet", "--output-dir",
                 str(tmp_path / "unused")]) == 2
    assert "No trained default model ships" in capsys.readouterr().err
    assert not (tmp_path / "unused").exists()  # nothing made before the model loads


def test_example_segments_the_real_field_and_a_simulated_cluster(low_threshold_card,
                                                                 tmp_path, capsys):
    from astropy_radiounet.data import SIMULATED_EXAMPLE_NAME

    arguments = ["segment", "--example", "--weights", str(low_threshold_card),
                 "--output-dir", str(tmp_path), "--no-progress"]
    assert main(arguments) == 0
    simulated = tmp_path / SIMULATED_EXAMPLE_NAME
    assert fits.getheader(simulated)["NAXIS1"] == 1024
    for stem in ("lotss_dr1_P205+55", simulated.stem):
        assert (tmp_path / f"{stem}_overlay.png").stat().st_size > 0
        assert (tmp_path / f"{stem}_segmentation.fits").exists()
    assert "simulating the example cluster" in capsys.readouterr().err
    made = simulated.stat().st_mtime_ns
    assert main(arguments) == 0  # a rerun resumes: nothing simulated or segmented again
    err = capsys.readouterr().err
    assert "simulating" not in err and err.count("done before") == 2
    assert simulated.stat().st_mtime_ns == made


def test_backbones_lists_registered(capsys):
    assert main(["backbones"]) == 0
    listing = capsys.readouterr().out
    assert "unet" in listing and "attention_unet" in listing


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "segment" in capsys.readouterr().out


def test_overlay_of_a_large_image_is_decimated_in_its_own_pixels(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from astropy_radiounet.visualization import plot_overlay

    from helpers import lotss_header

    wcs = WCS(lotss_header((3000, 2500), four_d=False)).celestial
    image = np.random.default_rng(0).normal(size=(3000, 2500)).astype(np.float32)
    probability = np.zeros_like(image)
    probability[1000:1500, 1000:1400] = 0.9
    ax = plot_overlay(image, probability, wcs=wcs, max_pixels=1000,
                      filename=tmp_path / "big.png")
    assert ax.images[0].get_array().shape == (1000, 834)
    # Decimated pixel k is drawn at pixel 3k of the image: the axes stay in the
    # image's pixels and WCS, so that what callers draw in them lands on it.
    assert ax.images[0].get_extent() == [-1.5, 2500.5, -1.5, 2998.5]
    assert ax.get_xlim() == (-0.5, 2499.5) and ax.get_ylim() == (-0.5, 2999.5)
    sky = wcs.pixel_to_world(1200, 1200)
    assert np.allclose(ax.wcs.world_to_pixel(sky), (1200, 1200), atol=1e-6)
    # The probability contour (red) outlines the box in the image's pixels.
    red = [c for c in ax.collections if hasattr(c, "get_paths") and c.get_paths()][-1]
    vertices = np.concatenate([path.vertices for path in red.get_paths()])
    assert 990 < vertices[:, 0].min() < 1010 and 1390 < vertices[:, 0].max() < 1410
    assert 990 < vertices[:, 1].min() < 1010 and 1490 < vertices[:, 1].max() < 1510
    plt.close(ax.figure)
    assert (tmp_path / "big.png").stat().st_size > 10_000


def test_segment_keeps_the_header_beam(lotss_fits, coarse_model_dir, tmp_path):
    import warnings

    from astropy.utils.exceptions import AstropyUserWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", AstropyUserWarning)  # e.g. "no beam" would fail
        status = main(["segment", str(lotss_fits), "--weights",
                       str(coarse_model_dir / "coarse.json"), "--output-dir", str(tmp_path),
                       "--tile-size", "64", "--no-progress"])
    assert status == 0
    assert fits.getdata(tmp_path / "field_probability.fits").shape == (150, 170)


def test_simulate_then_segment_a_field(tmp_path, tiny_model_dir, capsys):
    prefix = tmp_path / "sim" / "field"
    assert main(["simulate", "field", str(prefix), "--shape", "128", "160", "--seed", "3",
                 "--blank-edges"]) == 0
    image = tmp_path / "sim" / "field_image.fits"
    header = fits.getheader(image)
    assert header["NAXIS"] == 4 and header["BUNIT"].upper() == "JY/BEAM"
    assert main(["simulate", "field", str(prefix), "--shape", "128", "160"]) == 2
    assert "use --overwrite" in capsys.readouterr().err
    assert main(["segment", str(image), "--weights", str(tiny_model_dir / "tiny.json"),
                 "--output-dir", str(tmp_path / "seg"), "--tile-size", "128",
                 "--no-progress"]) == 0
    probability = fits.getdata(tmp_path / "seg" / "field_image_probability.fits")
    assert probability.shape == (128, 160)
    blank = ~np.isfinite(np.squeeze(fits.getdata(image)))
    np.testing.assert_array_equal(np.isnan(probability), blank)


def test_simulate_training_set_and_cluster_sample(tmp_path):
    from astropy_radiounet.training import TrainingConfig

    TrainingConfig(tile_size=32, n_train=3, batch_size=1).write(tmp_path / "c.json")
    assert main(["simulate", "training-set", str(tmp_path / "pairs"), "--n-pairs", "3",
                 "--config", str(tmp_path / "c.json"), "--workers", "1",
                 "--no-progress"]) == 0
    assert (tmp_path / "pairs" / "training_set.json").exists()
    # --processes, the former spelling of --workers, still works.
    assert main(["simulate", "clusters", str(tmp_path / "clusters"), "--n-fields", "2",
                 "--shape", "96", "96", "--processes", "1", "--no-progress"]) == 0
    from astropy.table import QTable

    assert len(QTable.read(tmp_path / "clusters" / "clusters.ecsv")) == 2
    assert main(["simulate", "field", str(tmp_path / "x"), "--shape", "4", "4"]) == 2


#: Every command, with the modules of cli/ that define them.
COMMANDS = ["segment", "simulate", "train", "evaluate", "calibrate", "classify", "search",
            "backbones"]

#: The commands that run in parallel, and those of them that run on dask.
PARALLEL = ["simulate training-set", "simulate clusters", "train", "evaluate", "calibrate",
            "classify", "search"]
ON_DASK = ["classify", "search"]


def _subcommands(parser):
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices


def test_each_command_comes_from_one_module():
    assert list(_subcommands(build_parser())) == COMMANDS
    assert [module.__name__.rsplit(".", 1)[1] for module in COMMAND_MODULES] == COMMANDS
    for module in COMMAND_MODULES:
        subparsers = argparse.ArgumentParser().add_subparsers()
        parser = module.add_parser(subparsers)
        name = module.__name__.rsplit(".", 1)[1]
        assert list(subparsers.choices) == [name] and subparsers.choices[name] is parser
        assert parser.get_default("handler") is module.run


@pytest.mark.parametrize("command", [*COMMANDS, "simulate field", "simulate training-set",
                                     "simulate clusters"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command.split(), "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert text.startswith(f"usage: radiounet {command} ")
    assert ("--workers N, --processes N" in text) == (command in PARALLEL)
    if command in PARALLEL:
        assert "--processes N is an alias" in text
    assert ("--scheduler ADDRESS" in text) == (command in ON_DASK)


def test_workers_is_one_option(capsys):
    parser = build_parser()
    for command in ([*c.split(), "x"] if c.startswith("simulate") else c.split()
                    for c in PARALLEL):
        extra = {"simulate": ["--n-pairs" if "training-set" in command else "--n-fields", "2"],
                 "calibrate": ["--weights", "c.json"], "classify": ["--catalog", "c",
                                                                    "--images", "m"],
                 "search": ["m"]}.get(command[0], [])
        assert parser.parse_args([*command, *extra]).workers is None
        assert parser.parse_args([*command, *extra, "--workers", "3"]).workers == 3
        assert parser.parse_args([*command, *extra, "--processes", "3"]).workers == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["search", "m", "--workers", "2", "--scheduler", "tcp://h:8786"])
    assert "not allowed with argument --workers/--processes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--scheduler", "tcp://h:8786"])
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--workers", "-1"])
    assert "must be a number of processes" in capsys.readouterr().err


def test_evaluate_takes_one_or_several_models():
    parser = build_parser()
    assert parser.parse_args(["evaluate"]).weights == ["default"]
    assert parser.parse_args(["evaluate", "--weights", "a.json"]).weights == ["a.json"]
    args = parser.parse_args(["evaluate", "--weights", "default", "a.json", "--beams", "6", "20"])
    assert args.weights == ["default", "a.json"] and args.beams == [6.0, 20.0]
    assert args.confuser_fields == 0 and args.n_fields == 0


def test_evaluate_prints_confuser_areas_of_several_models(capsys):
    status = main(["evaluate", "--weights", "default", "default", "--n-tiles", "0",
                   "--confuser-fields", "1", "--confuser-size", "128", "--beams", "6", "20",
                   "--no-progress"])
    assert status == 0
    out = capsys.readouterr().out
    assert "on 1 simulated field per beam without diffuse emission" in out
    lines = [line for line in out.splitlines() if line.startswith("|")]
    assert lines[0] == "| beam | confuser | pixels | default (%) | default #2 (%) |"
    assert any(line.startswith('| 20" | rest of the field |') for line in lines)


@pytest.mark.parametrize("options, message", [
    (["--confuser-fields", "-1"], "--confuser-fields must be 0 (no confuser fields) or "
                                  "positive; got -1"),
    (["--n-tiles", "-2"], "--n-tiles must be 0 (no pixel-level metrics) or positive; got -2"),
    (["--n-tiles", "0"], "nothing to measure: give --n-tiles, --n-fields or --confuser-fields"),
    (["--confuser-fields", "1", "--beams", "6", "0", "-3"],
     "--beams must be positive beam sizes in arcsec, e.g. --beams 6 20 45 60; got 0 -3"),
    (["--confuser-fields", "1", "--confuser-size", "100"],
     "--confuser-size 100 makes fields of fewer than 16 pixels at the 60 arcsec beam; use "
     "--confuser-size 160 or more, or smaller --beams"),
])
def test_evaluate_refuses_bad_counts_and_beams(options, message, capsys):
    assert main(["evaluate", *options]) == 2
    assert message in capsys.readouterr().err
