import textwrap

import numpy as np
import pytest
from astropy.utils.exceptions import AstropyUserWarning

from astropy_radiounet import RadioUNetSegmenter
from astropy_radiounet.backbones import (AUTOLOAD_ENV, available_backbones, get_backbone,
                                         get_plugin_manager)
from astropy_radiounet.backbones.unet import build_unet, unet_halo

PLUGIN_SOURCE = '''
import keras
from astropy_radiounet import BackboneSpec, hookimpl


def build_fcn(*, filters=4):
    inputs = keras.Input((None, None, 1))
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(inputs)
    outputs = keras.layers.Conv2D(1, 1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


@hookimpl
def radiounet_backbones():
    return {"test_fcn": BackboneSpec(name="test_fcn", builder=build_fcn, depth=0, halo=1,
                                     default_config={"filters": 4},
                                     description="a one-layer test network")}
'''

BROKEN_SOURCE = "raise RuntimeError('this plugin is broken on purpose')\n"

RAISING_HOOK_SOURCE = '''
from astropy_radiounet import hookimpl


@hookimpl
def radiounet_backbones():
    raise RuntimeError("hook fails on purpose")
'''


def install_plugin(directory, name, source):
    """Install a module with an entry point by writing its dist-info by hand."""
    (directory / f"{name}.py").write_text(textwrap.dedent(source))
    dist_info = directory / f"{name}-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(
        f"[astropy_radiounet.backbones]\n{name} = {name}\n")


@pytest.fixture()
def fresh_registry():
    """Rebuild the plugin registry before and after the test."""
    get_plugin_manager.cache_clear()
    available_backbones.cache_clear()
    yield
    get_plugin_manager.cache_clear()
    available_backbones.cache_clear()


def test_builtins_register_through_the_hook():
    backbones = available_backbones()
    assert {"unet", "attention_unet"} <= set(backbones)
    manager = get_plugin_manager()
    plugins = {manager.get_name(impl.plugin)
               for impl in manager.hook.radiounet_backbones.get_hookimpls()}
    assert "astropy_radiounet.backbones.unet" in plugins
    assert "astropy_radiounet.backbones.attention_unet" in plugins


def test_unknown_backbone_lists_registered_ones():
    with pytest.raises(ValueError, match="registered backbones are attention_unet, unet"):
        get_backbone("transformer")


def test_entry_point_plugin_is_loaded_and_used(tmp_path, monkeypatch, fresh_registry):
    install_plugin(tmp_path, "radiounet_test_plugin", PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "test_fcn" in available_backbones()
    segmenter = RadioUNetSegmenter(backbone="test_fcn", weights=None, tile_shape=(32, 32),
                                   seed=0)
    probability = segmenter.predict_probability(np.random.default_rng(0).normal(size=(40, 50)))
    assert probability.shape == (40, 50)
    assert np.all((probability >= 0) & (probability <= 1))


def test_broken_plugins_warn_and_are_skipped(tmp_path, monkeypatch, fresh_registry):
    install_plugin(tmp_path, "radiounet_broken_plugin", BROKEN_SOURCE)
    install_plugin(tmp_path, "radiounet_raising_plugin", RAISING_HOOK_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(AstropyUserWarning) as record:
        backbones = available_backbones()
    messages = " ".join(str(w.message) for w in record)
    assert "radiounet_broken_plugin" in messages and "broken on purpose" in messages
    assert "radiounet_raising_plugin" in messages and "hook fails on purpose" in messages
    assert {"unet", "attention_unet"} <= set(backbones)


def test_autoload_switch_turns_entry_points_off(tmp_path, monkeypatch, fresh_registry):
    install_plugin(tmp_path, "radiounet_test_plugin", PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(AUTOLOAD_ENV, "1")
    backbones = available_backbones()
    assert "test_fcn" not in backbones and "unet" in backbones


@pytest.mark.parametrize("backbone", ["unet", "attention_unet"])
def test_halo_bounds_the_receptive_field(backbone):
    """A change farther than the halo from a pixel never changes its output."""
    config = {"depth": 2, "filters": 4}
    spec = get_backbone(backbone)
    multiple, halo = spec.geometry(config)
    assert multiple == 4 and halo == unet_halo(spec.config(config))
    model = spec.build(config)
    size = 2 * halo + 32
    rng = np.random.default_rng(0)
    base = rng.normal(size=(1, size, size, 1)).astype(np.float32)
    centre = size // 2
    reference = model.predict_on_batch(base)[0, centre, centre, 0]
    for dy, dx in [(halo + 1, 0), (0, -(halo + 1)), (-(halo + 1), halo + 1)]:
        changed = base.copy()
        changed[0, centre + dy, centre + dx, 0] += 100.0
        assert model.predict_on_batch(changed)[0, centre, centre, 0] == reference
    nearby = base.copy()
    nearby[0, centre + 2, centre - 1, 0] += 100.0
    assert model.predict_on_batch(nearby)[0, centre, centre, 0] != reference


def test_unet_config_is_validated():
    with pytest.raises(ValueError, match=r"depth=0.*normalization='group'"):
        build_unet(depth=0, normalization="group")
