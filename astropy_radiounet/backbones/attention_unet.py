"""
The built-in Attention U-Net backbone (Oktay et al. 2018).

The Radio U-Net with an additive attention gate on every skip connection:
the decoder's coarser features decide which parts of the encoder's detailed
features are passed on, which helps suppress compact sources next to faint
diffuse emission.  The gates use 1x1 convolutions only, so the receptive
field, and hence the tile halo, is that of the plain U-Net.  It registers
through the same pluggy hook as any third-party backbone.
"""

import functools

from .hookspecs import hookimpl
from .unet import build_unet, unet_family_spec

__all__ = ["build_attention_unet", "radiounet_backbones"]

build_attention_unet = functools.partial(build_unet, attention=True,
                                         name="radio_attention_unet")
build_attention_unet.__doc__ = "Build an Attention U-Net; keywords as `build_unet`."


@hookimpl
def radiounet_backbones():
    """Register the built-in Attention U-Net."""
    return {"attention_unet": unet_family_spec(
        "attention_unet", build_attention_unet,
        "U-Net with additive attention gates on the skip connections (Oktay et al. 2018)")}
