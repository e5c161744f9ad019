"""
Throughput and peak memory of ``RadioUNetSegmenter.predict_probability``
beside photutils ``SourceFinder`` on the same LoTSS-like image.

Each case runs in its own Python process so that its peak resident memory
(``ru_maxrss``, which includes the TensorFlow runtime) is its own.  The
U-Net has the default architecture (16 filters, depth 4) with random
weights: speed and memory do not depend on the weight values.

Cases:

* ``unet-native``: the model works on the input grid (1.5" pixels, 6" beam).
* ``unet-6arcsec``: the model card asks for 6" pixels and a 20" beam, as a
  model meant for diffuse emission on LoTSS would; the image is resampled
  and convolved to it and the probability comes back on the input grid.
* ``unet-6arcsec-peak``: the same with a second input channel, the
  full-resolution peak signal-to-noise ratio (``input_channels`` ``image``
  and ``peak_snr``).
* ``sourcefinder``: photutils ``SourceFinder`` (5 sigma, 10 pixels,
  deblending on) on the beam-convolved image.

Run::

    python benchmarks/bench_segmentation.py                 # 2048^2 and 8192^2
    python benchmarks/bench_segmentation.py --sizes 2048    # quicker
    python benchmarks/bench_segmentation.py --sizes 4096 --cases unet-6arcsec unet-6arcsec-peak
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

PIXEL = 1.5  # arcsec
BEAM = 6.0   # arcsec


def lotss_like(size, seed=0, noise=7e-5):
    """Beam-correlated Gaussian noise with compact sources, float32, with a WCS."""
    from astropy.wcs import WCS
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    sigma = BEAM / PIXEL / np.sqrt(8 * np.log(2))
    image = gaussian_filter(rng.standard_normal((size, size), dtype=np.float32), sigma)
    image *= noise / image.std()
    n_sources = int(size * size * (PIXEL / 3600) ** 2 * 1000)  # ~1000 per square degree
    ys, xs = rng.integers(0, size, (2, n_sources))
    image[ys, xs] += (rng.pareto(1.0, n_sources) + 1) * 5 * noise * 2 * np.pi * sigma**2
    image = gaussian_filter(image, 0.5)  # spread the point sources a little
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = [205.0, 55.0]
    wcs.wcs.crpix = [size / 2, size / 2]
    wcs.wcs.cdelt = [-PIXEL / 3600, PIXEL / 3600]
    return image, wcs


def _max_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _segmenter(case):
    """The random-weight default U-Net of a case, at 6" / 20" for the unet-6arcsec cases."""
    import tempfile

    import astropy.units as u
    from radio_beam import Beam

    from astropy_radiounet import RadioUNetSegmenter
    from astropy_radiounet.models.card import load_model, save_model

    channels = ("image", "peak_snr") if case == "unet-6arcsec-peak" else ("image",)
    model, card = load_model("unet", None, seed=0, input_channels=channels)
    if case.startswith("unet-6arcsec"):
        card.pixel_scale = 6.0 * u.arcsec
        card.beam = Beam(20 * u.arcsec)
    directory = tempfile.mkdtemp()
    return RadioUNetSegmenter(weights=save_model(model, card, directory))


def run_case(case, size, repeat):
    """Run one case in this process and return its measurements."""
    image, wcs = lotss_like(size)
    result = {"case": case, "size": size}
    if case == "sourcefinder":
        from astropy.convolution import Gaussian2DKernel, convolve_fft
        from photutils.segmentation import SourceFinder

        from astropy_radiounet.image.noise import robust_sigma

        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            kernel = Gaussian2DKernel(BEAM / PIXEL / np.sqrt(8 * np.log(2)))
            smoothed = convolve_fft(image, kernel, allow_huge=True)
            threshold = 5 * float(robust_sigma(smoothed[::4, ::4].ravel()))
            segments = SourceFinder(n_pixels=10, progress_bar=False)(smoothed, threshold)
            times.append(time.perf_counter() - start)
        result["n_found"] = 0 if segments is None else int(segments.n_labels)
    else:
        import astropy.units as u
        from astropy.io import fits
        from radio_beam import Beam

        segmenter = _segmenter(case)
        header = Beam(BEAM * u.arcsec).attach_to_header(wcs.to_header())
        header["BUNIT"] = "JY/BEAM"
        hdu = fits.PrimaryHDU(image, header=header)
        result["rss_before_gb"] = _max_rss_gb()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            segmenter.predict_probability(hdu)
            times.append(time.perf_counter() - start)
    result["first_s"] = times[0]
    result["best_s"] = min(times)
    result["mpix_per_s"] = size * size / 1e6 / min(times)
    result["peak_rss_gb"] = _max_rss_gb()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 8192])
    parser.add_argument("--cases", nargs="+",
                        default=["sourcefinder", "unet-6arcsec", "unet-native"])
    parser.add_argument("--repeat", type=int, default=2,
                        help="calls per case; the best is reported (the first includes "
                             "graph tracing)")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(args.one[0], int(args.one[1]), args.repeat)))
        return
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    rows = []
    for size in args.sizes:
        for case in args.cases:
            repeat = 1 if (case == "unet-native" and size > 4096) else args.repeat
            output = subprocess.run(
                [sys.executable, __file__, "--one", case, str(size), "--repeat", str(repeat)],
                capture_output=True, text=True, env=env, check=True).stdout
            rows.append(json.loads(output.strip().splitlines()[-1]))
            print(f"done {case} {size}", file=sys.stderr)
    print(f"\nCPU cores: {os.cpu_count()}; image: LoTSS-like, {PIXEL}\" pixels, {BEAM}\" beam")
    header = (f"| {'case':17s} | {'size':>6s} | {'first call s':>12s} | {'best s':>8s} | "
              f"{'Mpix/s':>7s} | {'peak RSS GB':>11s} |")
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for row in rows:
        print(f"| {row['case']:17s} | {row['size']:>5d}² | {row['first_s']:12.2f} | "
              f"{row['best_s']:8.2f} | {row['mpix_per_s']:7.2f} | {row['peak_rss_gb']:11.2f} |")


if __name__ == "__main__":
    main()
