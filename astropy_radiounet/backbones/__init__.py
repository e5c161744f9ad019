"""
Backbones: the networks that map a normalised image to probabilities.

Backbones are registered through pluggy (see `astropy_radiounet.backbones.hookspecs`); the built-in
``unet`` and ``attention_unet`` use the same hook as third-party plugins.
"""

from .hookspecs import hookimpl, hookspec
from .registry import (AUTOLOAD_ENV, ENTRY_POINT_GROUP, BackboneSpec, available_backbones,
                       get_backbone, get_plugin_manager, register_plugin)

__all__ = ["hookimpl", "hookspec", "BackboneSpec", "available_backbones", "get_backbone",
           "get_plugin_manager", "register_plugin", "ENTRY_POINT_GROUP", "AUTOLOAD_ENV"]
