"""
The plugin manager and the description of a backbone.

Built-in backbones register first, then plugins found through the
``astropy_radiounet.backbones`` entry-point group.  The built-in names
(``unet``, ``attention_unet``) are protected: a plugin that offers one of
them is ignored for that name, with a warning, and looking up a built-in
backbone never loads a plugin at all.  A plugin that fails to import,
calls `sys.exit`, takes longer than the time limit to import or to answer
its hook (30 s, or ``ASTROPY_RADIOUNET_PLUGIN_TIMEOUT``), or whose hook
raises or returns something other than a dictionary of `BackboneSpec`, is
skipped with a `~astropy_radiounet.exceptions.PluginWarning`: one broken
plugin never takes the host down.  Set the environment variable
``ASTROPY_RADIOUNET_DISABLE_PLUGIN_AUTOLOAD=1`` to load no entry points at
all.
"""

import functools
import importlib
import importlib.metadata
import inspect
import math
import os
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

from ..exceptions import PluginWarning
from .hookspecs import PROJECT_NAME, BackboneHookSpecs

__all__ = ["BackboneSpec", "ENTRY_POINT_GROUP", "AUTOLOAD_ENV", "PLUGIN_TIMEOUT_ENV",
           "DEFAULT_PLUGIN_TIMEOUT", "plugin_timeout", "get_plugin_manager",
           "available_backbones", "get_backbone", "register_plugin"]

#: Entry-point group searched for backbone plugins.
ENTRY_POINT_GROUP = "astropy_radiounet.backbones"

#: Environment variable that, set to a true value, turns entry-point loading off.
AUTOLOAD_ENV = "ASTROPY_RADIOUNET_DISABLE_PLUGIN_AUTOLOAD"

#: Environment variable giving the time limit, in seconds, of each plugin's
#: import and of each call of its hook (``0`` for no limit).
PLUGIN_TIMEOUT_ENV = "ASTROPY_RADIOUNET_PLUGIN_TIMEOUT"

#: The time limit, in seconds, when ``ASTROPY_RADIOUNET_PLUGIN_TIMEOUT`` is not set.
DEFAULT_PLUGIN_TIMEOUT = 30.0

_BUILTIN_MODULES = ("astropy_radiounet.backbones.unet",
                    "astropy_radiounet.backbones.attention_unet")

#: Backbone name -> (plugin name, spec) of the plugin backbones last collected.
_PROVIDERS = {}


@dataclass(frozen=True)
class BackboneSpec:
    """
    What the package needs to know about a backbone.

    A backbone maps a batch of normalised images, shape (n, ny, nx, C) with
    values in [-1, 1] and C input channels (1 unless a model card declares
    more), to per-pixel probabilities, shape (n, ny, nx, 1).  It knows
    nothing of FITS, tiles or WCS.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``'unet'``.
    builder : callable
        ``builder(**config)`` returns an uncompiled `keras.Model` that
        accepts inputs of any spatial size that is a multiple of
        ``2**depth``.  For a model of C > 1 input channels it is called as
        ``builder(**config, input_channels=C)``; a builder without that
        keyword builds single-channel models only (see
        `takes_input_channels`).
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

    def build(self, config=None, *, input_channels=1):
        """
        Build the Keras model for a config (default config updated).

        The model is checked before it is returned: it must be a
        `keras.Model` with ``input_channels`` input channels that maps a
        small batch of shape (2, ny, nx, input_channels), ``ny`` and ``nx``
        multiples of ``2**depth``, to one probability per pixel, shape
        (2, ny, nx, 1) with values in [0, 1].

        Parameters
        ----------
        config : dict, optional
            Builder keywords, updating ``default_config``.
        input_channels : int, optional
            Number of input channels (a model card's ``input_channels``);
            passed to the builder as ``input_channels=`` only when above 1,
            so that builders written for one channel keep working.

        Raises
        ------
        ValueError
            If the config has keywords the builder does not take, the
            builder cannot take more than one input channel and more are
            asked for, or the model fails the check above.
        TypeError
            If the builder returns something other than a `keras.Model`.
        """
        config = self.config(config)
        self._check_keywords(config)
        input_channels = _check_input_channels(self, input_channels, config)
        if input_channels == 1:
            model = self.builder(**config)
        else:
            try:
                model = self.builder(**config, input_channels=input_channels)
            except TypeError as exc:  # a builder whose signature could not be read
                if "input_channels" not in str(exc):
                    raise
                msg = _single_channel_message(self, input_channels)
                raise ValueError(msg) from exc
        _check_built_model(self, model, config, input_channels=input_channels)
        return model

    def takes_input_channels(self):
        """
        Whether the builder takes ``input_channels=`` (models of several input channels).

        Examples
        --------
        >>> from astropy_radiounet.backbones import get_backbone
        >>> get_backbone("unet").takes_input_channels()
        True
        """
        parameters = _builder_parameters(self.builder)
        if parameters is None:  # a signature that cannot be read: let the call decide
            return True
        named = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return any(p.kind is inspect.Parameter.VAR_KEYWORD
                   or (p.name == "input_channels" and p.kind in named) for p in parameters)

    def _check_keywords(self, config):
        parameters = _builder_parameters(self.builder)
        if parameters is None:  # a builder whose signature cannot be read
            return
        if "input_channels" in config:
            msg = (f"{_describe(self)}: input_channels is not a config keyword; it follows "
                   f"from the model card's input_channels (the names of the channels).  "
                   f"Remove it from the card's 'config' (or backbone_config=).")
            raise ValueError(msg)
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return
        accepted = [p.name for p in parameters
                    if p.kind in (inspect.Parameter.KEYWORD_ONLY,
                                  inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        unknown = sorted(set(config) - set(accepted))
        if unknown:
            msg = (f"{_describe(self)} takes no keyword {', '.join(map(repr, unknown))}; "
                   f"its builder takes {', '.join(accepted) or 'no keywords'}.  Correct the "
                   f"model card's 'config' (or backbone_config=).")
            raise ValueError(msg)


def _builder_parameters(builder):
    """The builder's parameters, or `None` when its signature cannot be read."""
    try:
        return list(inspect.signature(builder).parameters.values())
    except (TypeError, ValueError):
        return None


def _check_input_channels(spec, input_channels, config):
    """The number of input channels, checked against what the builder can take."""
    if isinstance(input_channels, bool) or not isinstance(input_channels, int) or (
            input_channels < 1):
        msg = f"input_channels must be a positive integer; got {input_channels!r}."
        raise ValueError(msg)
    if input_channels > 1 and not spec.takes_input_channels():
        raise ValueError(_single_channel_message(spec, input_channels))
    return input_channels


def _single_channel_message(spec, input_channels):
    return (f"{_describe(spec)} builds single-channel models only: its builder takes no "
            f"input_channels keyword, and this model needs {input_channels} input "
            f"channels (its card's input_channels).  Use a model card with the one "
            f"channel ['image'], or update the plugin: give its builder a keyword "
            f"input_channels=1 and build keras.Input(shape=(None, None, input_channels)) "
            f"(see 'The contract' in the backbones documentation).")


def _describe(spec):
    """'The backbone 'x' (plugin 'p')', for messages."""
    plugin = _plugin_of(spec)
    if plugin in _BUILTIN_MODULES:
        return f"The built-in backbone {spec.name!r}"
    return f"The backbone {spec.name!r}" + (f" (plugin {plugin!r})" if plugin else "")


def _plugin_of(spec):
    """The plugin that registered ``spec``, or `None` if it is not registered."""
    for name, (plugin, registered) in {**_builtin_registry(), **_PROVIDERS}.items():
        if registered is spec and name == spec.name:
            return plugin
    return None


def _model_input_channels(model):
    """The number of channels a built model's (first) input declares, or `None`."""
    try:
        return int(model.inputs[0].shape[-1])
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def _check_built_model(spec, model, config, *, input_channels=1):
    """Refuse a built model that does not map ``input_channels`` channels to one-channel
    probabilities, naming the backbone."""
    import keras
    import numpy as np

    where = _describe(spec)
    channels = input_channels
    if not isinstance(model, keras.Model):
        msg = (f"{where}: its builder returned {type(model).__name__} ({str(model)[:60]!r}), "
               f"not a keras.Model.  A builder must return an uncompiled keras.Model that "
               f"maps (n, ny, nx, {channels}) images to (n, ny, nx, 1) probabilities.")
        raise TypeError(msg)
    declared = _model_input_channels(model)
    if declared is not None and declared != channels:
        asked = ("" if channels == 1 else f" (it was called with input_channels={channels})")
        msg = (f"{where} builds a model of {declared} input channel"
               f"{'s' if declared != 1 else ''}, and {channels} were asked for{asked}; its "
               f"builder must build keras.Input(shape=(None, None, input_channels)).")
        raise ValueError(msg)
    multiple, _ = spec.geometry(config)
    ny = multiple * max(1, -(-16 // multiple))
    nx = 2 * ny
    yy, xx = np.mgrid[:ny, :nx]
    # A blank image and one spanning the whole normalised range [-1, 1], in every channel.
    batch = np.stack([np.zeros((ny, nx, channels)),
                      np.stack([np.sin(0.7 * yy + 1.3 * xx + c) for c in range(channels)],
                               axis=-1)]).astype(np.float32)
    shape = f"(2, {ny}, {nx}, {channels})"
    expected = (2, ny, nx, 1)
    try:
        output = model(batch, training=False)
    except Exception as exc:  # noqa: BLE001 - reported with the backbone's name
        msg = (f"{where} fails on a {shape} batch of normalised images (spatial size a "
               f"multiple of 2**depth = {multiple}): {exc}")
        raise ValueError(msg) from exc
    if isinstance(output, (list, tuple, dict)):
        msg = (f"{where} returns {len(output)} outputs; a backbone returns one: the "
               f"probability of each pixel, shape (n, ny, nx, 1).")
        raise ValueError(msg)
    output = np.asarray(keras.ops.convert_to_numpy(output))
    if output.shape != expected:
        msg = (f"{where} maps a {shape} batch to shape {output.shape}; a backbone must "
               f"return one probability per pixel, shape {expected} (end it with "
               f"keras.layers.Conv2D(1, 1, activation='sigmoid', padding='same')).")
        raise ValueError(msg)
    finite = np.isfinite(output)
    if not finite.all() or output.min() < 0 or output.max() > 1:
        found = ("non-finite values" if not finite.all()
                 else f"values from {output.min():.4g} to {output.max():.4g}")
        msg = (f"{where} returns {found} for a {shape} batch of normalised images; a "
               f"backbone returns probabilities, in [0, 1]: end it with a sigmoid, e.g. "
               f"keras.layers.Conv2D(1, 1, activation='sigmoid', dtype='float32').")
        raise ValueError(msg)


def plugin_timeout():
    """
    The time limit, in seconds, of a plugin's import and of each call of its hook.

    Read from ``ASTROPY_RADIOUNET_PLUGIN_TIMEOUT`` (default 30 s).

    Returns
    -------
    seconds : float or `None`
        `None` when the variable is ``0``: no limit, and plugins are then
        imported in the calling thread.

    Raises
    ------
    ValueError
        If the variable is set to something other than a number of seconds.
    """
    value = os.environ.get(PLUGIN_TIMEOUT_ENV, "").strip()
    if not value:
        return DEFAULT_PLUGIN_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        msg = (f"{PLUGIN_TIMEOUT_ENV}={value!r} is not understood: set it to a number of "
               f"seconds (0 for no limit), or unset it for the default of "
               f"{DEFAULT_PLUGIN_TIMEOUT:g} s.")
        raise ValueError(msg)
    return seconds or None


class _TimedOut(Exception):
    """A plugin's import or hook did not finish within the time limit."""


def _call_with_time_limit(function, limit):
    """
    ``function()``, or `_TimedOut` if it takes longer than ``limit`` seconds.

    The call runs in a daemon thread, which is left behind if it hangs (a
    thread cannot be stopped), so the process can still exit.  What the call
    raises, `SystemExit` included, is raised here.
    """
    if limit is None:
        return function()
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True,
                              name="astropy_radiounet backbone plugin")
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise _TimedOut
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _failure(exc, doing, limit):
    """Why a plugin was skipped, in words."""
    if isinstance(exc, _TimedOut):
        return (f"{doing} took longer than the {limit:g} s limit (raise it with "
                f"{PLUGIN_TIMEOUT_ENV}=<seconds>, 0 for none)")
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r}) while {doing}"
    return f"it failed while {doing}: {exc!r}"


_FIX = (f"Update or uninstall it, or set {AUTOLOAD_ENV}=1 to load no plugins.")


@functools.lru_cache(maxsize=1)
def get_plugin_manager():
    """
    The package's `pluggy.PluginManager`, built once.

    Built-in backbone modules are registered first, then (unless
    ``ASTROPY_RADIOUNET_DISABLE_PLUGIN_AUTOLOAD`` is set) every entry point
    of the ``astropy_radiounet.backbones`` group.  Each entry point has
    `plugin_timeout` seconds to import; one that fails, calls `sys.exit` or
    takes longer is skipped with a `~astropy_radiounet.exceptions.PluginWarning`.
    """
    import pluggy

    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(BackboneHookSpecs)
    for module_name in _BUILTIN_MODULES:
        manager.register(importlib.import_module(module_name), name=module_name)
    if os.environ.get(AUTOLOAD_ENV, "").strip().lower() not in ("", "0", "false", "no"):
        return manager
    limit = plugin_timeout()
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        where = f"backbone plugin {entry_point.name!r} ({entry_point.value})"
        if manager.has_plugin(entry_point.name):
            warnings.warn(f"Skipping {where}: a plugin of that name is registered already.  "
                          f"{_FIX}", PluginWarning, stacklevel=2)
            continue
        try:
            plugin = _call_with_time_limit(entry_point.load, limit)
            manager.register(plugin, name=entry_point.name)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - any plugin failure is reported
            warnings.warn(f"Skipping {where}: {_failure(exc, 'importing it', limit)}.  {_FIX}",
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
def _builtin_registry():
    """Built-in backbone name -> (module name, spec), without loading any plugin."""
    registry = {}
    for module_name in _BUILTIN_MODULES:
        for name, spec in importlib.import_module(module_name).radiounet_backbones().items():
            registry[name] = (module_name, spec)
    return registry


def _collect(impl, limit):
    """Call one plugin's hook (time-limited) and check what it returns."""
    provided = _call_with_time_limit(impl.function, limit)
    if not isinstance(provided, dict) or not all(
            isinstance(spec, BackboneSpec) for spec in provided.values()):
        msg = (f"radiounet_backbones() must return a dict of name -> BackboneSpec; it "
               f"returned {type(provided).__name__}")
        raise TypeError(msg)
    return provided


@functools.lru_cache(maxsize=1)
def available_backbones():
    """
    All registered backbones.

    Built-in backbones come first and keep their names: a plugin's backbone
    of a name already registered is ignored with a
    `~astropy_radiounet.exceptions.PluginWarning` naming the plugin.  Among
    plugins, the one registered first keeps a name.

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
    backbones = {name: spec for name, (_, spec) in _builtin_registry().items()}
    providers = {}
    limit = plugin_timeout()
    # In registration order (pluggy orders its hook implementations for
    # calling, by tryfirst/trylast, not by registration), built-ins excluded:
    # they are in already, and cannot be displaced.
    order = {name: index for index, (name, _) in enumerate(manager.list_name_plugin())}
    impls = sorted((impl for impl in manager.hook.radiounet_backbones.get_hookimpls()
                    if impl.plugin_name not in _BUILTIN_MODULES),
                   key=lambda impl: order.get(impl.plugin_name, len(order)))
    for impl in impls:
        plugin_name = impl.plugin_name
        try:
            provided = _collect(impl, limit)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - any plugin failure is reported
            warnings.warn(f"Skipping backbone plugin {plugin_name!r}: "
                          f"{_failure(exc, 'calling its radiounet_backbones() hook', limit)}.  "
                          f"{_FIX}", PluginWarning, stacklevel=2)
            continue
        for name, spec in provided.items():
            if name in backbones:
                owner = ("a built-in backbone, which plugins cannot replace"
                         if name in _builtin_registry()
                         else f"registered already by plugin {providers[name][0]!r}")
                warnings.warn(f"Backbone {name!r} from plugin {plugin_name!r} ignored: the "
                              f"name is {owner}.  Give the plugin's backbone another name.",
                              PluginWarning, stacklevel=2)
                continue
            backbones[name] = spec
            providers[name] = (plugin_name, spec)
    _PROVIDERS.clear()
    _PROVIDERS.update(providers)
    return backbones


def get_backbone(name):
    """
    Look up a backbone by name.

    A built-in name is resolved without loading any plugin (plugins cannot
    replace built-in backbones), so a slow or broken plugin never delays
    work with the built-in backbones.

    Raises
    ------
    ValueError
        If no backbone of that name is registered; the message lists those
        that are.
    """
    if not isinstance(name, str):
        msg = f"A backbone is named by a string, such as 'unet'; got {name!r}."
        raise TypeError(msg)
    builtin = _builtin_registry()
    if name in builtin:
        return builtin[name][1]
    backbones = available_backbones()
    if name not in backbones:
        msg = (f"No backbone named {name!r}; registered backbones are "
               f"{', '.join(sorted(backbones))}.  Third-party backbones register through the "
               f"{ENTRY_POINT_GROUP!r} entry-point group.")
        raise ValueError(msg)
    return backbones[name]
