import numpy as np
import numpy.typing as npt

from .region import Axes

def importance(
    axes: Axes,
    unit: npt.ArrayLike,
    y: npt.ArrayLike,
    bins: int,
    n_boot: int,
    seed: npt.ArrayLike,
    workers: int = 1,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
