"""Slow pure-Python/NumPy references for the compiled kernels (tests only)."""

from __future__ import annotations

import math

import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF


def philox4x32_10(ctr: list[int], key: list[int]) -> list[int]:
    """Philox4x32-10 as written in Random123's philox.h, in Python integers."""
    c = list(ctr)
    k0, k1 = key
    for r in range(10):
        if r:
            k0 = (k0 + W0) & MASK
            k1 = (k1 + W1) & MASK
        p0 = M0 * c[0]
        p1 = M1 * c[2]
        c = [
            ((p1 >> 32) ^ c[1] ^ k0) & MASK,
            p1 & MASK,
            ((p0 >> 32) ^ c[3] ^ k1) & MASK,
            p0 & MASK,
        ]
    return c


def stream_word(seed: list[int], stream: int, i: int) -> int:
    """Word i of a stream, following the layout documented in random.hpp."""
    g, r = divmod(i, 16)
    block = 8 * g + (r % 8)
    c = philox4x32_10([block & MASK, block >> 32, seed[2], stream], [seed[0], seed[1]])
    lo = 0 if r < 8 else 2
    return (c[lo + 1] << 32) | c[lo]


def stream_uniform(seed: list[int], stream: int, i: int) -> float:
    return (stream_word(seed, stream, i) >> 12) * 2.0**-52


def from_unit(dist_kind: str, low: float, high: float, u: np.ndarray) -> np.ndarray:
    """The documented value maps, in NumPy (float64, using np.exp/np.log)."""
    u = np.asarray(u, dtype=np.float64)
    if dist_kind == "linear":
        return low + u * (high - low)
    if dist_kind == "log":
        return np.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    if dist_kind == "inv_log":
        a, b = math.log1p(-low), math.log1p(-high)
        return 1.0 - np.exp(a + u * (b - a))
    if dist_kind == "int":
        k = int(high) - int(low) + 1
        return int(low) + np.minimum(np.floor(u * k), k - 1).astype(np.int64)
    if dist_kind == "int_log":
        t = np.exp(math.log(low) + u * (math.log(high + 1) - math.log(low)))
        return np.clip(np.floor(t), low, high).astype(np.int64)
    if dist_kind == "power_of_two":
        e0, e1 = int(low).bit_length() - 1, int(high).bit_length() - 1
        k = e1 - e0 + 1
        return (2 ** (e0 + np.minimum(np.floor(u * k), k - 1))).astype(np.int64)
    raise ValueError(dist_kind)


def main_effect_share(bins_of_column: np.ndarray, y: np.ndarray) -> float:
    """Adjusted correlation ratio (epsilon squared) of y on the given bins, clipped at 0."""
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    mean = y.mean()
    ss_total = float(np.sum((y - mean) ** 2))
    labels = np.unique(bins_of_column)
    ss_between = sum(
        y[bins_of_column == b].size * (y[bins_of_column == b].mean() - mean) ** 2
        for b in labels
    )
    used = labels.size
    if ss_total <= 0 or used < 2 or n <= used:
        return 0.0
    ms_within = (ss_total - ss_between) / (n - used)
    return max(0.0, (ss_between - (used - 1) * ms_within) / ss_total)


def rank_bins(x: np.ndarray, bins: int) -> np.ndarray:
    """Equal-count bins by rank (stable for ties), as the core cuts continuous axes."""
    order = np.argsort(x, kind="stable")
    out = np.empty(x.size, dtype=np.int64)
    out[order] = np.arange(x.size) * min(bins, x.size) // x.size
    return out
