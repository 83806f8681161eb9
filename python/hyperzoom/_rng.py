"""Seed handling: the only place where ``rng=`` and ``random_state=`` are interpreted.

Every stochastic function normalises ``rng`` with :func:`as_generator` (the semantics of
:func:`numpy.random.default_rng`) and turns it into the three 32-bit seed words of the
compiled Philox stream with :func:`seed_words`. Passing the same integer or
``SeedSequence`` twice gives the same words; passing one ``Generator`` twice gives
different words, because drawing them advances it, exactly as with NumPy.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .typing import RngLike

__all__ = ["as_generator", "seed_words", "spawn", "words_from_random_state"]


def as_generator(rng: RngLike, *, name: str = "rng") -> np.random.Generator:
    """Return a ``Generator`` with :func:`numpy.random.default_rng` semantics.

    Parameters
    ----------
    rng : int, SeedSequence, Generator, BitGenerator or None
        ``None`` draws fresh entropy from the operating system; an ``int`` or a
        ``SeedSequence`` seeds a new generator; a ``Generator`` is returned as is.
    name : str, optional
        The argument name used in error messages.

    Returns
    -------
    numpy.random.Generator

    Examples
    --------
    >>> from hyperzoom._rng import as_generator
    >>> g = as_generator(12345)
    >>> float(g.random()) == float(as_generator(12345).random())
    True
    """
    if type(rng) is np.random.Generator:  # the common case, and a call for one value
        return rng
    if rng is None or isinstance(
        rng, (np.random.Generator, np.random.SeedSequence, np.random.BitGenerator)
    ):
        return np.random.default_rng(rng)
    if isinstance(rng, (bool, np.bool_)):
        msg = f"`{name}` must be an int, SeedSequence, Generator or None, but got {rng!r}."
        raise TypeError(msg)
    if isinstance(rng, numbers.Integral):
        if int(rng) < 0:
            msg = f"`{name}` must be a non-negative integer seed, but got {rng!r}."
            raise ValueError(msg)
        return np.random.default_rng(int(rng))
    if isinstance(rng, np.random.RandomState):
        msg = (
            f"`{name}` must be an int, SeedSequence, Generator or None, but got a "
            "legacy RandomState; pass np.random.default_rng(seed) instead."
        )
        raise TypeError(msg)
    msg = f"`{name}` must be an int, SeedSequence, Generator or None, but got {rng!r}."
    raise TypeError(msg)


def _words(gen: np.random.Generator) -> np.ndarray:
    # Two raw 64-bit outputs of the bit generator, read as four 32-bit words (the first
    # three are the key and stream words). ``random_raw`` costs about a microsecond;
    # ``Generator.integers`` costs fifteen, which a call for one value cannot afford.
    words: np.ndarray = gen.bit_generator.random_raw(2).view(np.uint32)[:3].copy()
    return words


def seed_words(rng: RngLike, *, name: str = "rng") -> np.ndarray:
    """Return the three uint32 seed words of a compiled stream for ``rng``.

    Examples
    --------
    >>> from hyperzoom._rng import seed_words
    >>> bool((seed_words(7) == seed_words(7)).all())
    True
    """
    return _words(as_generator(rng, name=name))


def words_from_random_state(random_state: Any) -> np.ndarray:
    """Seed words from scipy.stats' ``random_state`` (also accepts ``RandomState``).

    scikit-learn's ``RandomizedSearchCV`` hands distributions a legacy
    ``RandomState``; the drop-in ``rvs`` must accept it.
    """
    if isinstance(random_state, np.random.RandomState):
        return random_state.randint(0, 2**32, size=3, dtype=np.uint64).astype(np.uint32)
    return seed_words(random_state, name="random_state")


def spawn(rng: RngLike, k: int) -> list[np.random.Generator]:
    """Return ``k`` independent child generators of ``rng`` (``Generator.spawn``).

    Examples
    --------
    >>> from hyperzoom._rng import spawn
    >>> len(spawn(3, 4))
    4
    """
    return as_generator(rng).spawn(k)
