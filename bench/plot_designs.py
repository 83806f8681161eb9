"""Draw random vs plain vs optimised Latin hypercube designs in 2-D, strata shown.

Run ``python bench/plot_designs.py``; it writes bench/designs.png.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

import hyperzoom as hz

N = 12
SEED = 0x8C3F_52A1_9D04_E7B6_1F2A_6C5D_3E8B_9071


def main() -> Path:
    designs = {
        "random": hz.random_design(N, 2, rng=SEED),
        "Latin hypercube": hz.latin_hypercube(N, 2, rng=SEED),
        "LHS, maximin": hz.latin_hypercube(N, 2, rng=SEED, optimize="maximin"),
        "LHS, centred discrepancy": hz.latin_hypercube(N, 2, rng=SEED, optimize="cd"),
    }
    fig, axes = plt.subplots(1, len(designs), figsize=(4 * len(designs), 4.4))
    for ax, (name, u) in zip(axes, designs.items()):
        for k in range(N + 1):
            ax.axvline(k / N, color="0.85", lw=0.8, zorder=0)
            ax.axhline(k / N, color="0.85", lw=0.8, zorder=0)
        ax.scatter(u[:, 0], u[:, 1], s=36, color="C0", zorder=2)
        ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xticks=[], yticks=[])
        ax.set_title(
            f"{name}\nmin distance {hz.min_distance(u):.3f}, "
            f"CD² {hz.discrepancy(u):.5f}",
            fontsize=10,
        )
    fig.suptitle(
        f"{N} points in 2-D; the grey lines are the {N} strata of each axis "
        "(a Latin hypercube has one point in every row and every column)",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    out = Path(__file__).with_name("designs.png")
    fig.savefig(out, dpi=110)
    return out


if __name__ == "__main__":
    print(main())
