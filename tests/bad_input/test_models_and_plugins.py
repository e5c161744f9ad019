"""
Bad model cards, backbones and plugins get a clear answer (issue 15).

Each test gives the package one kind of bad input and checks that it is
refused with an error, or used with a warning, that names the problem and
the fix, and that nothing is changed silently.
"""

import importlib.metadata
import json
import threading
import time
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from astropy_radiounet import BackboneSpec, hookimpl
from astropy_radiounet.backbones import (AUTOLOAD_ENV, ENTRY_POINT_GROUP, available_backbones,
                                         get_backbone, get_plugin_manager, register_plugin)
from astropy_radiounet.backbones.registry import PLUGIN_TIMEOUT_ENV
from astropy_radiounet.backbones.unet import build_unet
from astropy_radiounet.exceptions import MissingMetadataWarning, PluginWarning
from astropy_radiounet.models.card import ModelCard, load_model, save_model

from helpers import TINY

# -- model cards ---------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_card(tmp_path_factory):
    """A tiny random model saved with a complete card, and the card's entries."""
    import astropy.units as u
    from radio_beam import Beam

    model, card = load_model("unet", None, config=TINY, seed=0)
    card.name = "tiny"
    card.pixel_scale = 3.0 * u.arcsec
    card.beam = Beam(12 * u.arcsec)
    directory = tmp_path_factory.mktemp("bad_cards")
    path = save_model(model, card, directory, stem="tiny")
    return path, json.loads(path.read_text())


def write_variant(saved_card, name, **changes):
    """A copy of the saved card beside its weights, with entries changed (... drops one)."""
    path, values = saved_card
    values = dict(values)
    for key, value in changes.items():
        if value is ...:
            del values[key]
        else:
            values[key] = value
    variant = path.with_name(f"{name}.json")
    variant.write_text(json.dumps(values))
    return variant


@pytest.mark.parametrize("sha256", [..., None], ids=["absent", "null"])
def test_card_without_sha256_loads_the_weights_with_a_warning(saved_card, sha256):
    path = write_variant(saved_card, "no_sha", sha256=sha256)
    with pytest.warns(MissingMetadataWarning, match="gives no sha256") as record:
        load_model(weights=path)
    message = str(record[0].message)
    assert str(path) in message and "tiny.weights.h5" in message
    # the fix: the digest to write, or save_model
    assert saved_card[1]["sha256"] in message and "save_model()" in message


def test_complete_card_loads_without_any_warning(saved_card):
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingMetadataWarning)
        load_model(weights=saved_card[0])


def test_tampered_weights_with_a_sha256_are_refused(saved_card, tmp_path):
    path, values = saved_card
    weights = tmp_path / values["weights"]
    weights.write_bytes(path.with_name(values["weights"]).read_bytes() + b"tampered")
    card = tmp_path / "card.json"
    card.write_text(json.dumps(values))
    with pytest.raises(ValueError, match="corrupt or does not belong to this card"):
        load_model(weights=card)


@pytest.mark.parametrize("key", ["pixel_scale_arcsec", "beam", "calibration"])
def test_card_lacking_an_entry_warns_naming_card_and_entry(saved_card, key):
    path = write_variant(saved_card, f"no_{key}", **{key: ...})
    with pytest.warns(MissingMetadataWarning, match=f"has no '{key}' entry") as record:
        card = ModelCard.read(path)
    assert str(path) in str(record[0].message)
    assert getattr(card, "pixel_scale" if key == "pixel_scale_arcsec" else key) is None


def test_card_lacking_several_entries_warns_once_listing_them(saved_card):
    path = write_variant(saved_card, "bare", pixel_scale_arcsec=..., beam=..., threshold=...)
    with pytest.warns(MissingMetadataWarning) as record:
        ModelCard.read(path)
    assert len(record) == 1
    message = str(record[0].message)
    assert "'pixel_scale_arcsec', 'beam', 'threshold' entries" in message
    assert "threshold = 0.5" in message


def test_explicit_nulls_are_the_cards_statement_and_quiet(saved_card):
    path = write_variant(saved_card, "nulls", pixel_scale_arcsec=None, beam=None,
                         calibration=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingMetadataWarning)
        card = ModelCard.read(path)
    assert card.pixel_scale is None and card.beam is None and card.calibration is None
    # No calibration: the raw output is used unchanged (documented).
    raw = np.array([0.0, 0.3, 1.0], dtype=np.float32)
    assert card.calibrate(raw) is raw


@pytest.mark.parametrize(("changes", "match"), [
    ({"threshold": 1.5}, r"threshold must be a probability in \[0, 1\); got 1.5"),
    ({"threshold": -0.1}, r"threshold must be a probability in \[0, 1\); got -0.1"),
    ({"threshold": "0.5"}, r"threshold must be a probability in \[0, 1\); got '0.5'"),
    ({"noise_box_size": 0}, "noise_box_size must be a positive integer; got 0"),
    ({"noise_box_size": -16}, "noise_box_size must be a positive integer; got -16"),
    ({"noise_box_size": 12.5}, "noise_box_size must be a positive integer; got 12.5"),
    ({"detection_ratio_threshold": 2.0}, r"detection_ratio_threshold must be .* \[0, 1\]"),
    ({"pixel_scale_arcsec": 0}, "pixel_scale_arcsec must be a finite positive number"),
    ({"pixel_scale_arcsec": -3.0}, "pixel_scale_arcsec must be a finite positive number"),
    ({"beam": {"major": 12}}, "has beam .*major_arcsec"),
    ({"beam": 12}, "has beam 12; a card's beam is"),
    ({"sha256": "abc"}, "sha256 must be the 64 hexadecimal digits"),
    ({"normalisation": {"method": "symlog_snr", "snr_max": "big"}},
     "snr_max must be a finite positive number"),
    ({"calibration": {"method": "isotonic"}}, "calibration has no 'raw' or 'calibrated'"),
    ({"format": "1"}, "has format '1'; a card's format is a positive integer"),
    ({"backbone": ...}, "has no 'backbone' entry"),
])
def test_bad_card_values_are_refused_at_read_time(saved_card, changes, match):
    path = write_variant(saved_card, "bad", **changes)
    with pytest.raises(ValueError, match=match) as info:
        ModelCard.read(path)
    if "format" not in changes and "calibration" not in changes and "normalisation" \
            not in changes:
        assert str(path) in str(info.value)


def test_noise_box_size_that_is_an_integral_float_is_kept(saved_card):
    card = ModelCard.read(write_variant(saved_card, "float_box", noise_box_size=32.0))
    assert card.noise_box_size == 32 and isinstance(card.noise_box_size, int)


def test_card_config_with_an_unknown_keyword_is_refused_naming_it(saved_card):
    path = write_variant(saved_card, "typo", config={"depth": 2, "filtres": 4})
    with pytest.raises(ValueError, match=r"backbone 'unet' takes no keyword 'filtres'.*"
                                         r"depth, filters"):
        load_model(weights=path)


# -- plugins and backbones -----------------------------------------------------


@pytest.fixture()
def runtime_plugins(monkeypatch):
    """A registry of the built-ins only (no installed plugin), rebuilt afterwards."""
    monkeypatch.setenv(AUTOLOAD_ENV, "1")
    get_plugin_manager.cache_clear()
    available_backbones.cache_clear()
    yield
    get_plugin_manager.cache_clear()
    available_backbones.cache_clear()


def plugin_of(backbones, marker=hookimpl):
    """A plugin object whose hook returns ``backbones``."""
    @marker
    def radiounet_backbones():
        return dict(backbones)

    return SimpleNamespace(radiounet_backbones=radiounet_backbones)


def spec(name, builder, depth=0, halo=1):
    return BackboneSpec(name=name, builder=builder, depth=depth, halo=halo)


def build_with(head, *, padding="same"):
    """A builder of a one-layer network with a given output head."""
    def builder():
        import keras

        inputs = keras.Input((None, None, 1))
        x = keras.layers.Conv2D(2, 3, padding=padding, kernel_initializer="ones")(inputs)
        return keras.Model(inputs, head(x))

    return builder


def two_channels(x):
    import keras

    return keras.layers.Conv2D(2, 1, activation="sigmoid")(x)


def linear(x):
    import keras

    return keras.layers.Conv2D(1, 1, kernel_initializer="ones")(x)


def sigmoid(x):
    import keras

    return keras.layers.Conv2D(1, 1, activation="sigmoid")(x)


def two_outputs(x):
    return [sigmoid(x), sigmoid(x)]


@pytest.mark.parametrize(("builder", "kind", "match"), [
    (lambda: None, TypeError, "its builder returned NoneType .*, not a keras.Model"),
    (lambda: {"model": 1}, TypeError, "its builder returned dict .*, not a keras.Model"),
    (build_with(two_channels), ValueError,
     r"maps a \(2, 16, 32, 1\) batch to shape \(2, 16, 32, 2\)"),
    (build_with(sigmoid, padding="valid"), ValueError,
     r"maps a \(2, 16, 32, 1\) batch to shape \(2, 14, 30, 1\)"),
    (build_with(linear), ValueError, r"returns values from .* backbone returns probabilities"),
    (build_with(two_outputs), ValueError, "returns 2 outputs"),
], ids=["none", "not_a_model", "two_channels", "wrong_size", "not_probabilities",
        "two_outputs"])
def test_builder_output_is_checked_naming_backbone_and_plugin(runtime_plugins, builder, kind,
                                                              match):
    register_plugin(plugin_of({"odd": spec("odd", builder)}), name="odd_plugin")
    with pytest.raises(kind, match=match) as info:
        load_model("odd", weights=None)
    assert "backbone 'odd' (plugin 'odd_plugin')" in str(info.value)


def test_builder_that_fails_on_a_batch_is_reported(runtime_plugins):
    def fixed_size():
        import keras

        inputs = keras.Input((8, 8, 1))
        return keras.Model(inputs, keras.layers.Conv2D(1, 1, activation="sigmoid")(inputs))

    register_plugin(plugin_of({"fixed": spec("fixed", fixed_size)}), name="fixed_plugin")
    with pytest.raises(ValueError, match=r"'fixed' \(plugin 'fixed_plugin'\) fails on a "
                                         r"\(2, 16, 32, 1\) batch"):
        load_model("fixed", weights=None)


def test_good_plugin_backbone_still_builds(runtime_plugins):
    register_plugin(plugin_of({"good": spec("good", build_with(sigmoid))}), name="good_plugin")
    model, card = load_model("good", weights=None)
    assert model.output_shape == (None, None, None, 1) and card.backbone == "good"


@pytest.mark.parametrize("marker", [hookimpl, hookimpl(tryfirst=True), hookimpl(trylast=True)],
                         ids=["plain", "tryfirst", "trylast"])
def test_plugin_cannot_replace_a_builtin_backbone(runtime_plugins, marker):
    impostor = spec("unet", lambda **config: None)
    register_plugin(plugin_of({"unet": impostor}, marker), name="impostor_plugin")
    with pytest.warns(PluginWarning, match="Backbone 'unet' from plugin 'impostor_plugin' "
                                           "ignored: the name is a built-in backbone") as record:
        backbones = available_backbones()
    assert all("astropy_radiounet.backbones.unet" not in str(w.message) for w in record)
    assert backbones["unet"].builder is build_unet
    assert get_backbone("unet").builder is build_unet
    assert list(backbones)[:2] == ["unet", "attention_unet"]


def test_first_registered_plugin_keeps_a_name(runtime_plugins):
    first, second = spec("shared", build_with(sigmoid)), spec("shared", build_with(sigmoid))
    register_plugin(plugin_of({"shared": first}), name="first_plugin")
    register_plugin(plugin_of({"shared": second}, hookimpl(trylast=True)), name="second_plugin")
    with pytest.warns(PluginWarning, match="'shared' from plugin 'second_plugin' ignored: "
                                           "the name is registered already by plugin "
                                           "'first_plugin'"):
        assert available_backbones()["shared"] is first


def fake_entry_points(monkeypatch, *entry_points):
    """Make the registry find these entry points, and only them, in its group."""
    real = importlib.metadata.entry_points

    def entry_points_of(**kwargs):
        if kwargs.get("group") == ENTRY_POINT_GROUP:
            return list(entry_points)
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points_of)
    monkeypatch.delenv(AUTOLOAD_ENV, raising=False)
    get_plugin_manager.cache_clear()
    available_backbones.cache_clear()


def entry_point(name, load):
    return SimpleNamespace(name=name, value=f"{name}_package.plugin", load=load)


@pytest.fixture()
def entry_point_registry():
    """Clear the registry after a test that faked entry points."""
    yield
    get_plugin_manager.cache_clear()
    available_backbones.cache_clear()


def exits_on_import():
    raise SystemExit(3)


@pytest.mark.parametrize("limit", ["5", "0"], ids=["in_a_thread", "no_time_limit"])
def test_plugin_calling_sys_exit_on_import_is_skipped(monkeypatch, entry_point_registry, limit):
    monkeypatch.setenv(PLUGIN_TIMEOUT_ENV, limit)
    good = plugin_of({"good": spec("good", build_with(sigmoid))})
    fake_entry_points(monkeypatch, entry_point("exiting", exits_on_import),
                      entry_point("good", lambda: good))
    with pytest.warns(PluginWarning, match=r"plugin 'exiting' \(exiting_package.plugin\): it "
                                           r"called sys.exit\(3\) while importing it.*"
                                           + AUTOLOAD_ENV):
        backbones = available_backbones()
    assert {"unet", "attention_unet", "good"} <= set(backbones)


def test_plugin_calling_sys_exit_in_its_hook_is_skipped(runtime_plugins):
    @hookimpl
    def radiounet_backbones():
        raise SystemExit("bye")

    register_plugin(SimpleNamespace(radiounet_backbones=radiounet_backbones), name="quitter")
    with pytest.warns(PluginWarning, match=r"'quitter': it called sys.exit\('bye'\) while "
                                           r"calling its radiounet_backbones\(\) hook"):
        assert {"unet", "attention_unet"} <= set(available_backbones())


@pytest.fixture()
def release():
    """An event set after the test, which ends whatever still waits on it."""
    event = threading.Event()
    yield event
    event.set()


def test_plugin_hanging_on_import_is_skipped_after_the_time_limit(
        monkeypatch, entry_point_registry, release):
    monkeypatch.setenv(PLUGIN_TIMEOUT_ENV, "0.3")
    hung = plugin_of({"hung": spec("hung", build_with(sigmoid))})

    def hangs():
        release.wait(4)  # before the fix, the registry waited out all of this
        return hung

    fake_entry_points(monkeypatch, entry_point("hanging", hangs))
    start = time.perf_counter()
    with pytest.warns(PluginWarning, match=r"plugin 'hanging' .*importing it took longer than "
                                           r"the 0.3 s limit .*" + PLUGIN_TIMEOUT_ENV):
        backbones = available_backbones()
    assert time.perf_counter() - start < 2
    assert "hung" not in backbones and "unet" in backbones


def test_plugin_whose_hook_hangs_is_skipped_after_the_time_limit(
        monkeypatch, runtime_plugins, release):
    monkeypatch.setenv(PLUGIN_TIMEOUT_ENV, "0.3")

    @hookimpl
    def radiounet_backbones():
        release.wait(4)
        return {}

    register_plugin(SimpleNamespace(radiounet_backbones=radiounet_backbones), name="sleeper")
    start = time.perf_counter()
    with pytest.warns(PluginWarning, match=r"'sleeper': calling its radiounet_backbones\(\) "
                                           r"hook took longer than the 0.3 s limit"):
        assert "unet" in available_backbones()
    assert time.perf_counter() - start < 2


def test_builtin_backbones_are_found_without_loading_plugins(monkeypatch, entry_point_registry):
    from astropy_radiounet.models import default_weights

    loaded = []
    fake_entry_points(monkeypatch,
                      entry_point("slow", lambda: loaded.append("slow") or plugin_of({})))
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)
        assert get_backbone("unet").builder is build_unet
        assert get_backbone("attention_unet").name == "attention_unet"
        assert default_weights("unet").endswith(".json")
    assert loaded == []
    # Asking for any other name loads the plugins.
    with pytest.raises(ValueError, match="No backbone named 'other'"):
        get_backbone("other")
    assert loaded == ["slow"]


@pytest.mark.parametrize("value", ["abc", "-1", "nan"])
def test_bad_plugin_time_limit_is_refused(monkeypatch, entry_point_registry, value):
    monkeypatch.setenv(PLUGIN_TIMEOUT_ENV, value)
    fake_entry_points(monkeypatch)
    with pytest.raises(ValueError, match=f"{PLUGIN_TIMEOUT_ENV}='{value}' is not understood: "
                                         f"set it to a number of seconds"):
        available_backbones()
