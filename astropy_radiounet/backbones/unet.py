"""
The built-in Radio U-Net backbone (Ronneberger et al. 2015), in Keras 3.

Only backend-agnostic Keras layers are used, so the same model trains under
JAX or PyTorch and infers under TensorFlow.  Normalisation layers that pool
statistics over the image (instance or group normalisation) are not offered:
they would make a pixel's probability depend on the tile it is computed in.
"""

from .hookspecs import hookimpl
from .registry import BackboneSpec

__all__ = ["build_unet", "unet_depth", "unet_halo", "radiounet_backbones"]

#: Builder keywords of the built-in U-Net used when a model card gives none.
UNET_DEFAULTS = {
    "depth": 4,
    "filters": 16,
    "kernel_size": 3,
    "n_convs": 2,
    "dropout": 0.0,
    "normalization": "batch",
    "activation": "relu",
}

_NORMALIZATIONS = ("batch", None)


def unet_depth(config):
    """Number of 2x downsamplings of a U-Net config."""
    return int(config["depth"])


def unet_halo(config):
    """
    Receptive-field radius of a U-Net config, in input pixels.

    Each 3x3 convolution at level ``l`` widens the field by ``2**l`` on each
    side, each 2x2 pooling and each 2x2 transposed convolution by at most
    ``2**l``; the result is an upper bound, checked empirically by the tests.
    """
    depth = int(config["depth"])
    reach = (int(config["kernel_size"]) - 1) // 2 * int(config["n_convs"])
    encoder_and_decoder = sum((2 * reach + 2) * 2**level for level in range(depth))
    return encoder_and_decoder + reach * 2**depth


def _check_config(depth, filters, kernel_size, n_convs, dropout, normalization,
                  input_channels=1):
    problems = []
    if isinstance(input_channels, bool) or not (isinstance(input_channels, int)
                                                and input_channels >= 1):
        problems.append(f"input_channels={input_channels!r} (a positive integer)")
    if not (isinstance(depth, int) and 1 <= depth <= 7):
        problems.append(f"depth={depth!r} (an integer from 1 to 7)")
    if not (isinstance(filters, int) and filters >= 1):
        problems.append(f"filters={filters!r} (a positive integer)")
    if not (isinstance(kernel_size, int) and kernel_size >= 1 and kernel_size % 2 == 1):
        problems.append(f"kernel_size={kernel_size!r} (an odd positive integer)")
    if not (isinstance(n_convs, int) and n_convs >= 1):
        problems.append(f"n_convs={n_convs!r} (a positive integer)")
    if not 0 <= dropout < 1:
        problems.append(f"dropout={dropout!r} (from 0 to below 1)")
    if normalization not in _NORMALIZATIONS:
        problems.append(f"normalization={normalization!r} ('batch' or None)")
    if problems:
        msg = "Invalid U-Net configuration: " + "; ".join(problems) + "."
        raise ValueError(msg)


def conv_block(x, filters, *, kernel_size, n_convs, normalization, activation, name):
    """``n_convs`` convolutions, each followed by optional batch norm and activation."""
    import keras

    for i in range(n_convs):
        x = keras.layers.Conv2D(filters, kernel_size, padding="same",
                                use_bias=normalization is None,
                                kernel_initializer="he_normal", name=f"{name}_conv{i}")(x)
        if normalization == "batch":
            x = keras.layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = keras.layers.Activation(activation, name=f"{name}_act{i}")(x)
    return x


def build_unet(*, depth=4, filters=16, kernel_size=3, n_convs=2, dropout=0.0,
               normalization="batch", activation="relu", attention=False,
               name="radio_unet", input_channels=1):
    """
    Build a U-Net that maps (n, ny, nx, C) images to (n, ny, nx, 1) probabilities.

    Parameters
    ----------
    depth : int, optional
        Number of 2x downsamplings; inputs must be multiples of ``2**depth``.
    filters : int, optional
        Filters of the first level, doubled at each level down.
    kernel_size : int, optional
        Odd convolution kernel size.
    n_convs : int, optional
        Convolutions per block.
    dropout : float, optional
        Spatial dropout rate after each pooling and in the bottleneck
        (training only).
    normalization : {'batch', None}, optional
        Batch normalisation after each convolution, or none.
    activation : str, optional
        Keras activation of the hidden layers.
    attention : bool, optional
        Gate each skip connection with an additive attention gate (Oktay et
        al. 2018), as the ``attention_unet`` backbone does.
    name : str, optional
        Model name.
    input_channels : int, optional
        Number of input channels C (a model card's input channels; 1, the
        image alone, by default).

    Returns
    -------
    model : `keras.Model`

    Examples
    --------
    >>> from astropy_radiounet.backbones.unet import build_unet
    >>> model = build_unet(depth=2, filters=4)
    >>> model.output_shape
    (None, None, None, 1)
    >>> build_unet(depth=2, filters=4, input_channels=2).input_shape
    (None, None, None, 2)
    """
    import keras

    _check_config(depth, filters, kernel_size, n_convs, dropout, normalization,
                  input_channels)
    block = dict(kernel_size=kernel_size, n_convs=n_convs, normalization=normalization,
                 activation=activation)
    inputs = keras.Input(shape=(None, None, input_channels), name="image")
    x = inputs
    skips = []
    for level in range(depth):
        x = conv_block(x, filters * 2**level, name=f"down{level}", **block)
        skips.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{level}")(x)
        if dropout:
            x = keras.layers.SpatialDropout2D(dropout, name=f"drop{level}")(x)
    x = conv_block(x, filters * 2**depth, name="bottleneck", **block)
    if dropout:
        x = keras.layers.SpatialDropout2D(dropout, name="drop_bottleneck")(x)
    for level in reversed(range(depth)):
        width = filters * 2**level
        x = keras.layers.Conv2DTranspose(width, 2, strides=2, padding="same",
                                         name=f"up{level}")(x)
        skip = skips[level]
        if attention:
            skip = attention_gate(skip, x, width, name=f"gate{level}")
        x = keras.layers.Concatenate(name=f"skip{level}")([x, skip])
        x = conv_block(x, width, name=f"decode{level}", **block)
    outputs = keras.layers.Conv2D(1, 1, activation="sigmoid", dtype="float32",
                                  name="probability")(x)
    return keras.Model(inputs, outputs, name=name)


def attention_gate(skip, gating, width, *, name):
    """
    Additive attention gate: weight ``skip`` by a map computed with ``gating``.

    Only 1x1 convolutions are used, so the gate does not widen the receptive
    field.
    """
    import keras

    inter = max(width // 2, 1)
    theta = keras.layers.Conv2D(inter, 1, name=f"{name}_skip")(skip)
    phi = keras.layers.Conv2D(inter, 1, name=f"{name}_gating")(gating)
    joint = keras.layers.Activation("relu", name=f"{name}_relu")(
        keras.layers.Add(name=f"{name}_add")([theta, phi]))
    alpha = keras.layers.Conv2D(1, 1, activation="sigmoid", name=f"{name}_alpha")(joint)
    return keras.layers.Multiply(name=f"{name}_apply")([skip, alpha])


def unet_family_spec(name, builder, description):
    """
    The `~astropy_radiounet.backbones.BackboneSpec` of a U-Net variant.

    It has the U-Net's depth, halo and default configuration.

    For variants whose changes (e.g. attention gates of 1x1 convolutions)
    leave the receptive field, and hence the tile halo, that of the U-Net.
    """
    return BackboneSpec(name=name, builder=builder, depth=unet_depth, halo=unet_halo,
                        default_config=dict(UNET_DEFAULTS), description=description)


@hookimpl
def radiounet_backbones():
    """Register the built-in U-Net."""
    return {"unet": unet_family_spec(
        "unet", build_unet, "Radio U-Net (Ronneberger et al. 2015; Stuardi et al. 2024)")}
