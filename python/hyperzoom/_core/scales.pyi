from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .conditions import Conditions

def first_outside(x: npt.NDArray[np.float64], lo: float, hi: float) -> int: ...
def first_outside_int(x: npt.NDArray[np.int64], lo: int, hi: int) -> int: ...

class CompiledSpace:
    def __init__(
        self,
        kinds: npt.ArrayLike,
        low: npt.ArrayLike,
        high: npt.ArrayLike,
        cum: Sequence[npt.ArrayLike | None],
    ) -> None: ...
    @property
    def d(self) -> int: ...
    def sample(
        self, seed: npt.ArrayLike, n: int, workers: int = 1, with_unit: bool = True
    ) -> tuple[npt.NDArray[np.float64] | None, list[np.ndarray]]: ...
    def sample_unit(
        self, seed: npt.ArrayLike, n: int, workers: int = 1
    ) -> npt.NDArray[np.float64]: ...
    def sample_conditional(
        self,
        conditions: Conditions,
        seed: npt.ArrayLike,
        n: int,
        max_attempts: int,
        workers: int = 1,
        with_unit: bool = True,
    ) -> tuple[
        npt.NDArray[np.float64] | None,
        list[np.ndarray],
        list[npt.NDArray[np.bool_] | None],
        int,
    ]: ...
    def from_unit(
        self, unit: npt.ArrayLike, workers: int = 1, missing: bool = False
    ) -> list[np.ndarray]: ...
    def to_unit(
        self, columns: Sequence[np.ndarray], n: int, workers: int = 1
    ) -> npt.NDArray[np.float64]: ...
