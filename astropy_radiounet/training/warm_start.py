"""
Warm start: a network of more input channels that begins as a trained one.

Every weight of the trained model is copied; the first layer's kernels for
the channels it did not have start at zero, so the new network computes
exactly what the trained one did (to float32 rounding) until fine-tuning
teaches it to use them.  This is how a multi-channel model is trained on a
CPU within one session: from the shipped single-channel model, not from
scratch.
"""

import dataclasses

import numpy as np

from ..backbones import get_backbone
from ..models.channels import check_input_channels

__all__ = ["warm_start_model", "copy_weights"]


def copy_weights(source, target, source_channels, target_channels):
    """
    Copy every weight of ``source`` into ``target``, a network of other input channels.

    The two must be the same architecture but for the number of input
    channels.  A weight of equal shape is copied as it is; a kernel that
    reads the input (its input-channel axis, the second last, has one entry
    per input channel) gets each channel's kernel from the source channel
    of the same name, and zero for a channel the source did not have.

    Parameters
    ----------
    source, target : `keras.Model`
        The trained model and the new one (changed in place).
    source_channels, target_channels : tuple of str
        Their input channels.

    Raises
    ------
    ValueError
        If the two have different numbers of weights, or a weight differs
        in shape other than along the input channels.
    """
    if len(source.weights) != len(target.weights):
        msg = (f"Cannot warm-start: the trained model has {len(source.weights)} weights and "
               f"the new one {len(target.weights)}; they must be the same architecture "
               f"(give the new one the trained model's backbone config).")
        raise ValueError(msg)
    import keras

    for old, new in zip(source.weights, target.weights):
        value = np.asarray(keras.ops.convert_to_numpy(old))
        if tuple(old.shape) == tuple(new.shape):
            new.assign(value)
            continue
        reads_input = (len(old.shape) >= 2 and value.shape[:-2] == tuple(new.shape[:-2])
                       and value.shape[-1] == new.shape[-1]
                       and value.shape[-2] == len(source_channels)
                       and new.shape[-2] == len(target_channels))
        if not reads_input:
            msg = (f"Cannot warm-start: weight {old.path!r} has shape {tuple(old.shape)} in "
                   f"the trained model and {tuple(new.shape)} in the new one, which differ "
                   f"other than in the input channels; give the new model the trained "
                   f"model's backbone config.")
            raise ValueError(msg)
        kernel = np.zeros(tuple(new.shape), dtype=value.dtype)
        for index, name in enumerate(target_channels):
            if name in source_channels:
                kernel[..., index, :] = value[..., source_channels.index(name), :]
        new.assign(kernel)


def warm_start_model(weights="default", *, input_channels, backbone_config=None):
    """
    A network of ``input_channels`` that starts as a trained model.

    Parameters
    ----------
    weights : {'default'}, version name, path or `~astropy_radiounet.models.ModelCard`, optional
        The trained model (as `~astropy_radiounet.load_model` takes it):
        ``'default'`` is the shipped default model (v0.3, of two channels, in
        this version); ``'v0.2'`` the single-channel one v0.3 started from.
    input_channels : sequence of str
        The new network's channels; they must include every channel of the
        trained model (usually ``('image', 'peak_snr')``).
    backbone_config : dict, optional
        Backbone keywords of the new network (the trained model's by
        default); those that change weights (depth, filters, ...) must be
        the trained model's, others (such as ``dropout``) may differ.

    Returns
    -------
    model : `keras.Model`
        The new network; before any training it gives the trained model's
        output (to float32 rounding) whatever the new channels hold.
    card : `~astropy_radiounet.models.ModelCard`
        The trained model's card with the new channels and config, no
        weights file yet, and ``training['warm_start']`` naming the model
        and the sha256 of its weights.

    Raises
    ------
    ValueError
        If a channel of the trained model is missing from
        ``input_channels``, or the architectures differ (see `copy_weights`).

    Examples
    --------
    >>> import numpy as np
    >>> from astropy_radiounet.training import warm_start_model
    >>> from astropy_radiounet import load_model
    >>> v02, _ = load_model(weights="v0.2")
    >>> model, card = warm_start_model("v0.2", input_channels=("image", "peak_snr"))
    >>> card.input_channels
    ('image', 'peak_snr')
    >>> x = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 2)).astype(np.float32)
    >>> difference = model.predict_on_batch(x) - v02.predict_on_batch(x[..., :1])
    >>> bool(np.abs(difference).max() < 1e-6)
    True
    """
    from ..models.card import load_model

    channels = check_input_channels(input_channels)
    source, source_card = load_model(weights=weights)
    missing = [name for name in source_card.input_channels if name not in channels]
    if missing:
        msg = (f"input_channels={list(channels)!r} lacks the channel"
               f"{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} of the "
               f"model {source_card.name!r}, whose weights would be lost; include "
               f"{'them' if len(missing) > 1 else 'it'}.")
        raise ValueError(msg)
    config = dict(source_card.config if backbone_config is None else backbone_config)
    target = get_backbone(source_card.backbone).build(config, input_channels=len(channels))
    copy_weights(source, target, source_card.input_channels, channels)
    training = {"warm_start": {"weights": str(weights) if not dataclasses.is_dataclass(weights)
                               else source_card.name,
                               "name": source_card.name, "sha256": source_card.sha256,
                               "input_channels": list(source_card.input_channels)}}
    card = dataclasses.replace(
        source_card, name=f"{source_card.name}, warm-started with {', '.join(channels)}",
        config=config, input_channels=channels, weights=None, sha256=None, path=None,
        training=training, metrics={},
        description=(f"Warm-started from {source_card.name!r}: its weights, with zero "
                     f"kernels for the new input channels; not yet fine-tuned."))
    return target, card
