import numpy as np
import pytest
from astropy.table import QTable
from photutils.segmentation import SourceCatalog
from scipy.ndimage import gaussian_filter

from astropy_radiounet.segmentation.chunked import segment_in_chunks
from astropy_radiounet.segmentation.threshold import threshold_map


def blob_map(shape, seed, smoothing):
    """Smooth random field in [0, 1]: blobs of many sizes, some spanning chunks."""
    field = gaussian_filter(np.random.default_rng(seed).normal(size=shape), smoothing)
    field = (field - field.min()) / np.ptp(field)
    field[: shape[0] // 7, -shape[1] // 5:] = np.nan  # a blank corner
    # A long thin snake that crosses many chunk borders.
    field[shape[0] // 2, 3:-3] = 1.0
    return field.astype(np.float32)


def measure_areas(slices, segments):
    catalog = SourceCatalog(np.ones(segments.shape), segments)
    return QTable({"label": catalog.label, "area": catalog.area.value,
                   "y": catalog.bbox_ymin + slices[0].start,
                   "x": catalog.bbox_xmin + slices[1].start})


@pytest.mark.parametrize("seed, chunk_size, margin", [(0, 16, 1), (1, 37, 5), (2, 64, 16),
                                                      (3, 200, 2)])
@pytest.mark.parametrize("connectivity", [4, 8])
def test_chunked_equals_single_block(seed, chunk_size, margin, connectivity):
    probability = blob_map((150, 170), seed, smoothing=3 + seed)
    single = threshold_map(probability, 0.6, 4, connectivity=connectivity)
    labels = np.full(probability.shape, -7, dtype=np.int32)  # stale values are overwritten
    n, table = segment_in_chunks(probability, 0.6, 4, out=labels, connectivity=connectivity,
                                 chunk_size=chunk_size, margin=margin, measure=measure_areas)
    assert n == single.n_labels > 3
    np.testing.assert_array_equal(labels, single.data)
    expected = measure_areas((slice(0, None), slice(0, None)), single)
    for column in ("label", "area", "y", "x"):
        np.testing.assert_array_equal(table[column], expected[column])


def test_no_segments_and_bad_arguments():
    probability = np.zeros((40, 40), np.float32)
    labels = np.ones((40, 40), np.int32)
    assert segment_in_chunks(probability, 0.5, 4, out=labels, chunk_size=16,
                             measure=measure_areas) == (0, None)
    assert not labels.any()
    with pytest.raises(ValueError, match="chunk_size must be an integer of at least 16"):
        segment_in_chunks(probability, 0.5, 4, out=labels, chunk_size=8)
    with pytest.raises(ValueError, match="out must be an integer array"):
        segment_in_chunks(probability, 0.5, 4, out=np.zeros((40, 40)), chunk_size=16)


def test_large_n_pixels_with_small_margin():
    """A segment cut by a chunk edge into pieces smaller than n_pixels is still found."""
    probability = np.zeros((64, 64), np.float32)
    probability[20, 5:60] = 0.9  # a 55-pixel line crossing chunk borders
    labels = np.zeros((64, 64), np.int32)
    n, _ = segment_in_chunks(probability, 0.5, 40, out=labels, chunk_size=16, margin=4)
    single = threshold_map(probability, 0.5, 40)
    assert n == single.n_labels == 1
    np.testing.assert_array_equal(labels, single.data)
