import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import uniform_filter

from astropy_radiounet.segmentation.tiling import TileLayout, predict_tiled


@settings(max_examples=40, deadline=None)
@given(ny=st.integers(1, 300), nx=st.integers(1, 300), tile=st.integers(40, 200),
       halo=st.integers(0, 16), multiple=st.sampled_from([1, 4, 8]))
def test_cores_cover_the_image_exactly_once(ny, nx, tile, halo, multiple):
    try:
        layout = TileLayout((ny, nx), (tile, tile), halo, multiple)
    except ValueError:
        assert tile - 2 * (-(-halo // multiple) * multiple) < multiple
        return
    count = np.zeros((ny, nx), int)
    for corner in layout:
        image_slices, _ = layout.core_slices(corner)
        count[image_slices] += 1
        assert corner[0] % multiple == 0 and corner[1] % multiple == 0
    assert np.all(count == 1)
    assert all(n % multiple == 0 for n in layout.tile_shape)
    assert len(layout) == len(list(layout))


def local_mean(batch, radius=5):
    """A stand-in network: a (2 radius + 1)^2 moving average, zero outside."""
    return uniform_filter(batch, size=(1, 2 * radius + 1, 2 * radius + 1, 1), mode="constant")


@settings(max_examples=25, deadline=None)
@given(ny=st.integers(1, 130), nx=st.integers(1, 130),
       tiles=st.lists(st.integers(24, 140), min_size=2, max_size=2),
       batch_size=st.integers(1, 5))
def test_result_is_independent_of_tile_size(ny, nx, tiles, batch_size):
    rng = np.random.default_rng(ny * 1000 + nx)
    image = rng.normal(size=(ny, nx)).astype(np.float32)
    whole = local_mean(image[np.newaxis, ..., np.newaxis])[0, ..., 0]

    def source(rows, cols):
        return image[rows, cols]

    for tile in tiles:
        layout = TileLayout(image.shape, (tile, tile), halo=5, multiple=4)
        result = predict_tiled(source, local_mean, layout, batch_size=batch_size)
        np.testing.assert_allclose(result, whole, atol=1e-5)


def test_writes_into_given_array_and_validates():
    layout = TileLayout((20, 30), (16, 16), halo=0, multiple=4)
    out = np.full((20, 30), -1.0, dtype=np.float32)
    predict_tiled(lambda r, c: np.ones((r.stop - r.start, c.stop - c.start)), lambda b: b * 2,
                  layout, out=out)
    assert np.all(out == 2)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        predict_tiled(None, None, layout, batch_size=0)
    with pytest.raises(ValueError, match="too small for this model"):
        TileLayout((20, 30), (40, 40), halo=20, multiple=8)
