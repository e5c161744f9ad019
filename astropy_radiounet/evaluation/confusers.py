"""
How much of each confuser models mark as diffuse emission.

Simulated fields without any diffuse emission hold only what a diffuse-emission
finder must leave alone: extended radio galaxies of each kind (in the field
and in the clusters: central and tailed ones), compact sources, imaging
artefacts and noise.  `evaluate_confusers` runs several models on the same
fields, at several input resolutions, and measures the fraction of each
confuser's area that each model marks (probability above its threshold);
`confuser_masks` says which pixels belong to which confuser.
"""

from types import MappingProxyType

import astropy.units as u
import numpy as np
from astropy.table import QTable

from ..simulation.instrument import keywords_at_beam
from ..simulation.radio_galaxies import RADIO_GALAXY_KINDS, V02_RADIO_GALAXY_KINDS
from ..training.config import check_field_keywords
from ..utils.validation import PositiveInteger, PositiveNumber
from ._comparison import load_segmenters, markdown_table

__all__ = ["CONFUSER_FIELD", "OTHER_CONFUSERS",
           "confuser_masks", "field_shapes", "confuser_fields", "evaluate_confusers",
           "format_confuser_table"]

#: The simulation keywords of the confuser fields (besides shape, seed, beam
#: and pixel scale): no diffuse emission at all (no cluster emission, no
#: bridges, no filaments), two clusters with their radio galaxies, and three
#: times the default density of field radio galaxies (per square degree).
CONFUSER_FIELD = MappingProxyType({
    "n_clusters": 2, "diffuse_probability": 0.0,
    "diffuse_rates": MappingProxyType({"bridge": 0.0, "filament": 0.0}),
    "radio_galaxy_density": 60.0})

#: The confusers that are not radio galaxies, in the order of `confuser_masks`.
OTHER_CONFUSERS = ("compact sources", "artefacts", "rest of the field")

#: Grid of the ``shape`` of `evaluate_confusers` (arcsec): the LoTSS pixels.
REFERENCE_PIXEL = 1.5


def confuser_masks(field, *, level=0.5):
    """
    The pixels of each confuser in a simulated field.

    The classes do not overlap; a pixel belongs to the first that claims it:

    1. a radio galaxy of each kind (``field.sources['kind']``): its
       footprint, where the galaxy alone, with the beam, exceeds ``level``
       times the local noise (see
       `~astropy_radiounet.simulation.SimulatedField.radio_galaxy_footprints`);
    2. ``'compact sources'``: where the rest of the noise-free sky (the sky
       less the diffuse emission, outside the radio galaxies) exceeds
       ``level`` times the local noise;
    3. ``'artefacts'``: where the imaging artefacts exceed ``level`` times
       the local noise in absolute value;
    4. ``'rest of the field'``: the noise elsewhere.

    Blanked pixels and the truth mask (diffuse emission, if the field has
    any) belong to none.

    Parameters
    ----------
    field : `~astropy_radiounet.simulation.SimulatedField`
        The field.
    level : float, optional
        Threshold in units of the local noise rms.

    Returns
    -------
    masks : dict
        ``{kind: bool array}``: the radio-galaxy kinds present, in the order
        of `~astropy_radiounet.simulation.RADIO_GALAXY_KINDS`, then the
        `OTHER_CONFUSERS`.

    Examples
    --------
    >>> from astropy_radiounet.evaluation.confusers import confuser_masks
    >>> from astropy_radiounet.simulation import simulate_field
    >>> field = simulate_field((128, 128), seed=2, n_clusters=0, radio_galaxy_density=2000)
    >>> masks = confuser_masks(field)
    >>> list(masks)[-3:]
    ['compact sources', 'artefacts', 'rest of the field']
    >>> int(sum(mask.sum() for mask in masks.values())) == 128 * 128
    True
    """
    footprints = field.radio_galaxy_footprints(level=level)
    free = ~(field.blank | field.mask)
    kinds = np.asarray(field.sources["kind"]).astype(str)
    masks = {}
    rows = np.unique(footprints[footprints > 0])
    present = set(kinds[rows - 1])
    for kind in _kind_order(present):
        masks[kind] = np.isin(footprints, np.flatnonzero(kinds == kind) + 1) & free
    free &= footprints == 0
    threshold = level * field.rms
    masks["compact sources"] = (field.sky - field.diffuse_sky > threshold) & free
    free &= ~masks["compact sources"]
    masks["artefacts"] = (np.abs(field.artefacts) > threshold) & free
    masks["rest of the field"] = free & ~masks["artefacts"]
    return masks


def _kind_order(kinds):
    known = [kind for kind in (*RADIO_GALAXY_KINDS, *V02_RADIO_GALAXY_KINDS) if kind in kinds]
    return list(dict.fromkeys(known)) + sorted(set(kinds) - set(known))


def _beam_values(beams, name="beams", example="(6, 20, 45, 60) * u.arcsec", single=False):
    """The beams as positive floats in arcsec (bare numbers are arcsec)."""
    try:
        values = np.atleast_1d(u.Quantity(beams, u.arcsec)).value.astype(float)
    except (TypeError, ValueError, u.UnitsError):
        values = None
    if values is None or values.ndim != 1 or not values.size or (single and values.size > 1) \
            or not np.all(np.isfinite(values) & (values > 0)):
        what = "a positive angle" if single else "positive angles"
        msg = f"{name} must be {what}, e.g. {name}={example}; got {beams!r}."
        raise ValueError(msg)
    return [float(value) for value in values]


def field_shapes(shape, beams):
    """
    The shape of the confuser fields at each beam: the sky of ``shape``
    pixels of 1.5 arcsec in pixels of a quarter beam.

    Parameters
    ----------
    shape : tuple of int
        Field size in 1.5 arcsec pixels.
    beams : `~astropy.units.Quantity`
        Beams (FWHM); bare numbers are arcsec.

    Returns
    -------
    shapes : list of tuple of int

    Raises
    ------
    ValueError
        If a beam is not a positive angle, or a field would be smaller than
        16 pixels a side.

    Examples
    --------
    >>> import astropy.units as u
    >>> field_shapes((2048, 2048), [6, 20, 45, 60] * u.arcsec)
    [(2048, 2048), (614, 614), (273, 273), (205, 205)]
    """
    beams = _beam_values(beams)
    try:
        ny, nx = (int(side) for side in shape)
    except (TypeError, ValueError):
        ny = nx = 0
    shapes = [(round(ny * 4 * REFERENCE_PIXEL / beam), round(nx * 4 * REFERENCE_PIXEL / beam))
              for beam in beams]
    if min(min(pair) for pair in shapes) < 16:
        msg = (f"shape={shape!r} (in 1.5 arcsec pixels) gives fields of {shapes} pixels at "
               f"beams {beams} arcsec (beam/4 pixels); each side must be at least 16 pixels: "
               f"use a larger shape or smaller beams.")
        raise ValueError(msg)
    return shapes


def confuser_fields(n_fields, *, seed=4242, beam=6 * u.arcsec, shape=(2048, 2048),
                    field_kwargs=None):
    """
    The simulated fields of `evaluate_confusers` at one beam, one at a time.

    Field ``k`` is ``simulate_field(shape_b, seed=children[k], beam=beam,
    pixel_scale=beam / 4, noise=noise_at_beam(beam), **CONFUSER_FIELD,
    **field_kwargs)``, where
    ``children`` are the `~numpy.random.SeedSequence` children of ``seed``
    and ``shape_b`` covers the sky of ``shape`` 1.5 arcsec pixels
    (`field_shapes`): a similar sky at every beam, not the same pixel for
    pixel.

    Parameters
    ----------
    n_fields : int
        Number of fields.
    seed : int, optional
        Seed of the fields: the same seed at another beam gives the fields
        the same random streams.
    beam : `~astropy.units.Quantity`, optional
        Restoring beam (FWHM); the pixels are a quarter of it.
    shape : tuple of int, optional
        Field size in 1.5 arcsec pixels.
    field_kwargs : dict, optional
        Further keywords of `~astropy_radiounet.simulation.simulate_field`,
        over `CONFUSER_FIELD` (``'sky'`` presets, a noise level, ...).

    Yields
    ------
    field : `~astropy_radiounet.simulation.SimulatedField`
    """
    from ..simulation import simulate_field

    n_fields = PositiveInteger().validate(n_fields, "n_fields")
    (value,) = _beam_values(beam, "beam", "6 * u.arcsec", single=True)
    (field_shape,) = field_shapes(shape, [value])
    # beam and pixel_scale are reserved; a noise in field_kwargs replaces the smoothed one.
    keywords = {**keywords_at_beam(value * u.arcsec), **CONFUSER_FIELD,
                **_checked_field_kwargs(field_kwargs)}
    for child in np.random.SeedSequence(seed).spawn(n_fields):
        yield simulate_field(field_shape, seed=child, **keywords)


def _checked_field_kwargs(field_kwargs):
    field_kwargs = {} if field_kwargs is None else field_kwargs
    check_field_keywords(field_kwargs, name="field_kwargs",
                         reserved=("shape", "seed", "beam", "pixel_scale"),
                         setter="evaluate_confusers (from shape and beams)")
    return field_kwargs


def evaluate_confusers(weights, *, n_fields=4, seed=4242, beams=(6, 20, 45, 60) * u.arcsec,
                       shape=(2048, 2048), level=0.5, field_kwargs=None,
                       tile_shape=(768, 768), progress_bar=False):
    """
    Fraction of each confuser's area that models mark as diffuse emission.

    Every model runs on the same simulated fields (`confuser_fields`): at
    each input beam ``B`` of ``beams``, ``n_fields`` LoTSS-like fields with
    pixels of ``B / 4`` (1.5 arcsec at 6 arcsec), each covering the sky of
    ``shape`` 1.5 arcsec pixels (by default 2048 x 2048, 51.2 arcmin on a
    side: fewer pixels at a coarser beam), with the noise of the LoTSS 6"
    image smoothed to ``B`` (`~astropy_radiounet.simulation.noise_at_beam`:
    70 uJy/beam times ``B`` / 6"),
    striped residual noise and spokes around bright sources, and no
    diffuse emission at all: two galaxy clusters, with their central and
    tailed radio galaxies and member over-densities, and 60 field radio
    galaxies per square degree (three times the default;
    `CONFUSER_FIELD`).  A pixel is marked where a model's probability
    exceeds its own threshold (``segmenter.threshold``, the card's); the
    confusers are those of `confuser_masks`.

    At coarse beams the compact sources too faint to see one by one add up
    (confusion): their sum exceeds half the noise over much of the field,
    so that ``'compact sources'`` covers more of it and ``'rest of the
    field'`` less (a higher ``level`` keeps the brighter ones only).

    Parameters
    ----------
    weights : list
        The models: each anything `~astropy_radiounet.RadioUNetSegmenter`
        takes as ``weights`` (``'default'``, a model card path, a
        `~astropy_radiounet.models.ModelCard`); a single one is a list of one.
    n_fields : int, optional
        Fields per beam.
    seed : int, optional
        Seed of the fields (the same at every beam).
    beams : `~astropy.units.Quantity`, optional
        Input beams (FWHM); bare numbers are arcsec.
    shape : tuple of int, optional
        Size of the fields in 1.5 arcsec pixels.
    level : float, optional
        Threshold of the confusers' footprints in units of the local noise
        (see `confuser_masks`).
    field_kwargs : dict, optional
        Further keywords of `~astropy_radiounet.simulation.simulate_field`.
    tile_shape : tuple of int, optional
        Tiles of the segmenters.
    progress_bar : bool, optional
        Show progress over the fields.

    Returns
    -------
    table : `~astropy.table.QTable`
        One row per beam and confuser: ``beam`` (arcsec), ``kind``,
        ``n_pixels`` (of that confuser in all the fields at that beam) and,
        for each model, the fraction of those pixels it marks, in a column
        named by the model's label (``'default'``, a card's file name, ...;
        ``meta['models']`` maps the labels to the models' names and
        ``meta['thresholds']`` to their thresholds).  The radio-galaxy kinds
        found at a beam come first, then `OTHER_CONFUSERS`.

    Examples
    --------
    Two shipped models on one small field at two beams:

    >>> import astropy.units as u
    >>> from astropy_radiounet.evaluation.confusers import evaluate_confusers
    >>> table = evaluate_confusers(['default', 'default'], n_fields=1, shape=(256, 256),
    ...                            beams=[6, 60] * u.arcsec)
    >>> table.colnames
    ['beam', 'kind', 'n_pixels', 'default', 'default #2']
    >>> import numpy as np
    >>> np.array_equal(table['default'], table['default #2'], equal_nan=True)
    True
    """
    from tqdm.auto import tqdm

    from ..training.pairs import simulated_plane

    n_fields = PositiveInteger().validate(n_fields, "n_fields")
    level = PositiveNumber().validate(level, "level")
    values = _beam_values(beams)
    field_shapes(shape, values)
    _checked_field_kwargs(field_kwargs)
    segmenters = load_segmenters(weights, tile_shape=tile_shape,
                                 reserved=("beam", "kind", "n_pixels"))
    rows = []
    progress = tqdm(total=n_fields * len(values), desc="confuser fields",
                    disable=not progress_bar)
    with progress:
        for beam in values:
            counts = {}
            for field in confuser_fields(n_fields, seed=seed, beam=beam * u.arcsec,
                                         shape=shape, field_kwargs=field_kwargs):
                masks = confuser_masks(field, level=level)
                plane = simulated_plane(field)
                marked = {label: np.nan_to_num(segmenter.predict_probability(plane))
                          > segmenter.threshold for label, segmenter in segmenters.items()}
                for kind, mask in masks.items():
                    total = counts.setdefault(kind, dict.fromkeys(("n_pixels", *marked), 0))
                    total["n_pixels"] += int(mask.sum())
                    for label, hits in marked.items():
                        total[label] += int(hits[mask].sum())
                progress.update()
            kinds = [*_kind_order(set(counts) - set(OTHER_CONFUSERS)), *OTHER_CONFUSERS]
            for kind in kinds:
                total = counts[kind]
                area = total["n_pixels"]
                rows.append({"beam": beam, "kind": kind, "n_pixels": area,
                             **{label: total[label] / area if area else np.nan
                                for label in segmenters}})
    table = QTable(rows=rows, names=["beam", "kind", "n_pixels", *segmenters])
    table["beam"].unit = u.arcsec
    table.meta.update(
        models={label: segmenter.card.name for label, segmenter in segmenters.items()},
        thresholds={label: segmenter.threshold for label, segmenter in segmenters.items()},
        n_fields=n_fields, seed=seed, shape=tuple(shape), level=level,
        field_shapes=dict(zip(values, field_shapes(shape, values))))
    return table


def format_confuser_table(table, *, digits=2):
    """
    The table of `evaluate_confusers` in Markdown, fractions in per cent.

    Parameters
    ----------
    table : `~astropy.table.QTable`
        The result of `evaluate_confusers`.
    digits : int, optional
        Decimals of the percentages.

    Returns
    -------
    text : str
        Columns: beam, confuser, pixels, then one per model.

    Examples
    --------
    >>> from astropy.table import QTable
    >>> import astropy.units as u
    >>> table = QTable({'beam': [6.0] * u.arcsec, 'kind': ['FRI'], 'n_pixels': [200],
    ...                 'default': [0.015]})
    >>> print(format_confuser_table(table))
    | beam | confuser | pixels | default (%) |
    |---|---|---|---|
    | 6" | FRI | 200 | 1.50 |
    """
    models = table.colnames[3:]
    rows = [[f'{u.Quantity(row["beam"], u.arcsec).value:g}"', row["kind"], row["n_pixels"],
             *(_percent(row[label], digits) for label in models)] for row in table]
    return markdown_table(["beam", "confuser", "pixels", *(f"{m} (%)" for m in models)], rows)


def _percent(value, digits):
    return "-" if not np.isfinite(value) else f"{100 * value:.{digits}f}"
