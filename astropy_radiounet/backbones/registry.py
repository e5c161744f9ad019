"""
The plugin manager and the description of a backbone.

Built-in backbones register first, then plugins found through the
``astropy_radiounet.backbones`` entry-point group.  A plugin that fails to
import, or whose hook raises or returns something other than a dictionary
of `BackboneSpec`, is skipped with a warning: one broken plugin never takes
the host down.  Set the environment variable
``ASTROPY_RADIOUNET_DISABLE_PLUGIN_AUTOLOAD=1`` to load no entry points at
all.
"""

import functools
import importlib
import importlib.metadata
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

from ..exceptions import PluginWarning
from .hookspecs import PROJECT_NAME, BackboneHookSpecs

__all__ = ["BackboneSpec", "ENTRY_POINT_GROUP", "AUTOLOAD_ENV", "get_plugin_manager",
           "available_backbones", "get_backbone", "register_plugin"]

#: Entry-point group searched for backbone plugins.
ENTRY_POINT_GROUP = "astropy_radiounet.backbones"

#: Environment variable that, set to a true value, turns entry-point loading off.
AUTOLOAD_ENV = "ASTROPY_RADIOUNET_DISABLE_PLUGIN_AUTOLOAD"

_BUILTIN_MODULES = ("astropy_radiounet.backbones.unet",
                    "astropy_radiounet.backbones.attention_unet")


@dataclass(frozen=True)
class BackboneSpec:
    """
    What the package needs to know about a backbone.

    A backbone maps a batch of normalised images, shape (n, ny, nx, 1) with
    values in [-1, 1], to per-pixel probabilities of the same shape.  It
    knows nothing of FITS, tiles or WCS.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``'unet'``.
    builder : callable
        ``builder(**config)`` returns an uncompiled `keras.Model` that
        accepts inputs of any spatial size that is a multiple of
        ``2**depth``.
    depth : int or callable
        Number of 2x downsamplings, or a function of the config giving it.
        Tile sizes and tile corners are multiples of ``2**depth``.
    halo : int or callable
        Receptive-field radius in pixels (the context a tile needs on each
        side for its core to be exact), or a function of the config.
    default_config : dict, optional
        Builder keywords used when a model card does not give them.
    default_weights : str or None, optional
        Path of the model card (JSON) of the default trained weights, or
        `None` when none ship.
    description : str, optional
        One line shown by ``radiounet backbones``.
    """

    name: str
    builder: Callable[..., Any]
    depth: int | Callable[[dict], int]
    halo: int | Callable[[dict], int]
    default_config: dict = field(default_factory=dict)
    default_weights: str | None = None
    description: str = ""

    def config(self, overrides=None):
        """The default config updated with ``overrides``."""
        config = dict(self.default_config)
        config.update(overrides or {})
        return config

    def geometry(self, config=None):
        """
        Tile geometry for a config.

        Returns
        -------
        multiple, halo : int
            Tiles are multiples of ``multiple`` pixels and need ``halo``
            pixels of context on each side.
        """
        config = self.config(config)
        depth = self.depth(config) if callable(self.depth) else self.depth
        halo = self.halo(config) if callable(self.halo) else self.halo
        return 2 ** int(depth), int(halo)

    def build(self, config=None):
        """Build the Keras model for a config (default config updated)."""
        return self.builder(**self.config(config))


@functools.lru_cache(maxsize=1)
def get_plugin_manager():
    """
    The package's `pluggy.PluginManager`, built once.

    Built-in backbone modules are registered first, then (unless
    ``ASTROPY_RADIOUNET_DISABLE_PLUGIN_AUTOLOAD`` is set) every entry point
    of the ``astropy_radiounet.backbones`` group.
    """
    import pluggy

    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(BackboneHookSpecs)
    for module_name in _BUILTIN_MODULES:
        manager.register(importlib.import_module(module_name), name=module_name)
    if os.environ.get(AUTOLOAD_ENV, "").strip().lower() in ("", "0", "false", "no"):
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if manager.get_plugin(entry_point.name) is not None:
                continue
            try:
                plugin = entry_point.load()
                manager.register(plugin, name=entry_point.name)
            except Exception as exc:  # noqa: BLE001 - any plugin failure is reported
                warnings.warn(f"Skipping backbone plugin {entry_point.name!r} "
                              f"({entry_point.value}): it failed to load: {exc!r}",
                              PluginWarning, stacklevel=2)
    return manager


def register_plugin(plugin, name=None):
    """
    Register a plugin object or module at run time.

    Parameters
    ----------
    plugin : object
        Anything with a `~astropy_radiounet.hookimpl`-decorated
        ``radiounet_backbones`` function.
    name : str, optional
        Plugin name (defaults to pluggy's choice).
    """
    get_plugin_manager().register(plugin, name=name)
    available_backbones.cache_clear()


@functools.lru_cache(maxsize=1)
def available_backbones():
    """
    All registered backbones.

    Returns
    -------
    backbones : dict
        Backbone name to `~astropy_radiounet.backbones.BackboneSpec`, built-ins first.

    Examples
    --------
    >>> from astropy_radiounet.backbones import available_backbones
    >>> sorted(available_backbones())[:2]
    ['attention_unet', 'unet']
    """
    manager = get_plugin_manager()
    backbones = {}
    # Call each implementation separately so that one failure is contained;
    # pluggy calls the last registered first, so reverse to keep built-ins first.
    for impl in reversed(manager.hook.radiounet_backbones.get_hookimpls()):
        plugin_name = manager.get_name(impl.plugin)
        try:
            provided = impl.function()
            if not isinstance(provided, dict) or not all(
                    isinstance(spec, BackboneSpec) for spec in provided.values()):
                msg = "radiounet_backbones() must return a dict of name -> BackboneSpec"
                raise TypeError(msg)
        except Exception as exc:  # noqa: BLE001 - any plugin failure is reported
            warnings.warn(f"Skipping backbone plugin {plugin_name!r}: {exc!r}",
                          PluginWarning, stacklevel=2)
            continue
        for name, spec in provided.items():
            if name in backbones:
                warnings.warn(f"Backbone {name!r} from plugin {plugin_name!r} ignored: "
                              f"the name is already registered.", PluginWarning, stacklevel=2)
                continue
            backbones[name] = spec
    return backbones


def get_backbone(name):
    """
    Look up a backbone by name.

    Raises
    ------
    ValueError
        If no backbone of that name is registered; the message lists those
        that are.
    """
    backbones = available_backbones()
    if name not in backbones:
        msg = (f"No backbone named {name!r}; registered backbones are "
               f"{', '.join(sorted(backbones))}.  Third-party backbones register through the "
               f"{ENTRY_POINT_GROUP!r} entry-point group.")
        raise ValueError(msg)
    return backbones[name]
