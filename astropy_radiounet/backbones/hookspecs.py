"""
The pluggy hook through which backbones are registered.

A plugin is any module or object with a function decorated by `hookimpl`
and named ``radiounet_backbones``; it returns a dictionary of backbone names
to `~astropy_radiounet.backbones.BackboneSpec`.  Third-party packages expose
their plugin through the ``astropy_radiounet.backbones`` entry-point group::

    [project.entry-points."astropy_radiounet.backbones"]
    my_backbone = "my_package.radiounet_plugin"

The built-in backbones register through the same hook.
"""

import pluggy

__all__ = ["PROJECT_NAME", "hookspec", "hookimpl", "BackboneHookSpecs"]

PROJECT_NAME = "astropy_radiounet"

#: Marks hook specifications (used by astropy_radiounet itself).
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

#: Marks hook implementations in plugins.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class BackboneHookSpecs:
    """Hook specifications for backbone plugins."""

    @hookspec
    def radiounet_backbones(self):
        """
        Return the backbones this plugin provides.

        Returns
        -------
        backbones : dict
            Maps a backbone name to its `~astropy_radiounet.backbones.BackboneSpec`.
        """
