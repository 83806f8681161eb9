from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

def random_design(
    seed: npt.ArrayLike, n: int, d: int, workers: int = 1
) -> npt.NDArray[np.float64]: ...
def latin_hypercube(
    seed: npt.ArrayLike, n: int, d: int, centered: bool = False, workers: int = 1
) -> npt.NDArray[np.float64]: ...
def extend_lhs(
    seed: npt.ArrayLike,
    design: npt.ArrayLike,
    m: int,
    centered: bool = False,
    workers: int = 1,
) -> npt.NDArray[np.float64]: ...
def optimize(
    seed: npt.ArrayLike,
    design: npt.ArrayLike,
    criterion: int,
    iterations: int,
    stall: int = 0,
    threshold: float = 0.0,
    workers: int = 1,
) -> tuple[npt.NDArray[np.float64], dict[str, int | float]]: ...
def discrepancy(sample: npt.ArrayLike, method: int = 0, workers: int = 1) -> float: ...
def min_distance(sample: npt.ArrayLike, workers: int = 1) -> float: ...
def grid(
    levels: Sequence[npt.ArrayLike], workers: int = 1
) -> npt.NDArray[np.float64]: ...
