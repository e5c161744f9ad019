"""
Make docs/_static/reliability.png: the reliability diagram of the shipped
model on fresh simulated test tiles, before and after its calibration.

    python docs/scripts/make_reliability_figure.py [--n-tiles 300] [--seed 12345]
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from astropy_radiounet.evaluation.metrics import reliability  # noqa: E402
from astropy_radiounet.models.card import load_model  # noqa: E402
from astropy_radiounet.training.config import TrainingConfig  # noqa: E402
from astropy_radiounet.training.pairs import make_training_pairs  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "_static" / "reliability.png"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-tiles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()
    model, card = load_model(weights="default")
    config = TrainingConfig(**card.training["config"])
    x, y = make_training_pairs(config, args.n_tiles, seed=args.seed, n_processes=2)
    raw = model.predict(x, batch_size=config.batch_size, verbose=0)
    figure, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfectly calibrated")
    for name, probability, style in [("raw network output", raw, "o-"),
                                     ("calibrated (shipped)", card.calibrate(raw), "s-")]:
        table, ece = reliability(y, probability)
        good = table["n_pixels"] > 0
        ax.plot(table["mean_probability"][good], table["observed_fraction"][good], style,
                label=f"{name}, ECE {ece:.3f}")
        print(name, f"ECE {ece:.4f}")
        for row in table[good]:
            print(f"  {row['low']:.1f}-{row['high']:.1f}: mean p {row['mean_probability']:.3f}"
                  f" observed {row['observed_fraction']:.3f} n {row['n_pixels']}")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("fraction of pixels that are diffuse emission")
    ax.set_title(f"{args.n_tiles} fresh simulated tiles (seed {args.seed})", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    figure.tight_layout()
    figure.savefig(OUT, dpi=110)
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
