"""
Several models measured side by side on the same simulated data: the list
of models an evaluation takes, a short label for each (a column of the
results) and Markdown tables with the models as columns.
"""

import os
from pathlib import Path

__all__ = ["model_list", "load_segmenters", "model_labels", "markdown_table"]


def model_list(weights):
    """
    The models of ``weights``: one model, or a list or tuple of them.

    A model is anything `~astropy_radiounet.RadioUNetSegmenter` takes as
    ``weights`` (``'default'``, a model card path, a
    `~astropy_radiounet.models.ModelCard`); the value is passed on as it is.
    """
    if isinstance(weights, (list, tuple)):
        if not weights:
            msg = ("weights is an empty list; give at least one model, e.g. "
                   "weights=['default'].")
            raise ValueError(msg)
        return list(weights)
    return [weights]


def load_segmenters(weights, *, tile_shape=(768, 768), reserved=()):
    """
    ``{label: RadioUNetSegmenter}`` of the models of ``weights``, in their order.

    The labels are those of `model_labels`; ``reserved`` are names they must
    not take (the other columns of a result).
    """
    from ..segmentation.segmenter import RadioUNetSegmenter

    values = model_list(weights)
    segmenters = [RadioUNetSegmenter(weights=value, tile_shape=tile_shape) for value in values]
    labels = model_labels(values, [segmenter.card for segmenter in segmenters],
                          reserved=reserved)
    return dict(zip(labels, segmenters))


def _label(value, card):
    if value is None:
        return "random weights"
    if isinstance(value, (str, os.PathLike)):
        return str(value)
    return str(card.name)


def model_labels(weights, cards, *, reserved=()):
    """
    A short, unique label for each model: how it was given.

    ``'default'`` (or another name) stays as it is, a path becomes its file
    name (the whole path where two file names are the same), a model card
    its ``name``; a label given twice, or one of ``reserved``, gets ``#2``,
    ``#3``, ... appended.

    Examples
    --------
    >>> model_labels(['default', '/a/unet.json', 'default'], [None] * 3)
    ['default', 'unet.json', 'default #2']
    >>> model_labels(['/a/unet.json', '/b/unet.json'], [None] * 2)
    ['/a/unet.json', '/b/unet.json']
    """
    full = [_label(value, card) for value, card in zip(weights, cards)]
    short = [Path(label).name if isinstance(value, (str, os.PathLike)) and Path(label).name
             else label for value, label in zip(weights, full)]
    # File names stand for their paths unless two different paths share one.
    ambiguous = len(set(zip(short, full))) > len(set(short))
    chosen = full if ambiguous else short
    labels = []
    for label in chosen:
        unique, k = label, 1
        while unique in labels or unique in reserved:
            k += 1
            unique = f"{label} #{k}"
        labels.append(unique)
    return labels


def markdown_table(header, rows):
    """
    A Markdown table: a header row, the rule, then ``rows`` (already text).

    Examples
    --------
    >>> print(markdown_table(["metric", "a"], [["auc", "0.9"]]))
    | metric | a |
    |---|---|
    | auc | 0.9 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
