"""
Whether bfloat16 inference is worth it: the shipped model's probability map
of the simulated example cluster (1024², ``data.simulated_cluster_example``)
in float32 and under Keras' ``mixed_bfloat16`` policy, the time of a second
call of each and the largest change of the probability.  bfloat16 would be
used only where it is faster and changes no probability by more than 1e-3.

Run::

    python benchmarks/bench_bfloat16.py
"""

import time
import warnings

import numpy as np


def timed_map(plane):
    """The default segmenter's probability map of ``plane`` and the time of a second call."""
    from astropy_radiounet import RadioUNetSegmenter

    segmenter = RadioUNetSegmenter()
    segmenter.predict_probability(plane)  # the first call builds the graph
    start = time.perf_counter()
    probability = segmenter.predict_probability(plane)
    return probability, time.perf_counter() - start


def main():
    import keras

    from astropy_radiounet.data import simulated_cluster_example
    from astropy_radiounet.training.pairs import simulated_plane

    warnings.simplefilter("ignore")
    plane = simulated_plane(simulated_cluster_example())
    p32, t32 = timed_map(plane)
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        p16, t16 = timed_map(plane)
    finally:
        keras.config.set_dtype_policy("float32")
    change = float(np.nanmax(np.abs(p16 - p32)))
    flipped = int(np.sum((p16 > 0.5) != (p32 > 0.5)))
    print(f"| policy | seconds |\n|---|---|\n| float32 | {t32:.2f} |\n"
          f"| mixed_bfloat16 | {t16:.2f} |\n\nlargest probability change {change:.4f}; "
          f"{flipped} pixels cross 0.5")


if __name__ == "__main__":
    main()
