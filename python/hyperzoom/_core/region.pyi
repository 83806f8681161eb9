from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

def select_elite(
    values: npt.ArrayLike, k: int, sorted: bool = True
) -> npt.NDArray[np.int64]: ...

class Axes:
    def __init__(
        self, cells: npt.ArrayLike, edges: Sequence[npt.ArrayLike | None]
    ) -> None: ...
    @property
    def d(self) -> int: ...
    @property
    def mask_size(self) -> int: ...
    def shrink(
        self,
        unit: npt.ArrayLike,
        elite: npt.ArrayLike,
        lo: npt.ArrayLike,
        hi: npt.ArrayLike,
        allowed: npt.ArrayLike,
        margin: float,
        min_width: float,
        pan_edge: float,
        pan_step: float,
    ) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]
    ]: ...
    def region_to_unit(
        self,
        v: npt.ArrayLike,
        lo: npt.ArrayLike,
        hi: npt.ArrayLike,
        allowed: npt.ArrayLike,
        workers: int = 1,
    ) -> npt.NDArray[np.float64]: ...
    def contains(
        self,
        u: npt.ArrayLike,
        lo: npt.ArrayLike,
        hi: npt.ArrayLike,
        allowed: npt.ArrayLike,
    ) -> npt.NDArray[np.bool_]: ...
