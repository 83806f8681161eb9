from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

def max_halvings(min_budget: float, max_budget: float, eta: int) -> int: ...
def sh_rungs(
    n: int, min_budget: float, max_budget: float, eta: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
def hyperband_brackets(
    min_budget: float, max_budget: float, eta: int
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]: ...
def promote_top(
    loss: npt.ArrayLike, ids: npt.ArrayLike, k: int
) -> npt.NDArray[np.int64]: ...

class AshaRungs:
    def __init__(self, n_rungs: int, eta: int) -> None: ...
    def report(self, id: int, rung: int, loss: float) -> None: ...
    def next_promotion(self) -> tuple[int, int] | None: ...
    @property
    def n_rungs(self) -> int: ...
    def size(self, rung: int) -> int: ...
    def promoted(self, rung: int) -> int: ...

class ExploreAxes:
    def __init__(
        self,
        modes: npt.ArrayLike,
        cells: npt.ArrayLike,
        lo: npt.ArrayLike,
        hi: npt.ArrayLike,
        edges: Sequence[npt.ArrayLike | None],
    ) -> None: ...
    @property
    def d(self) -> int: ...
    def pbt_step(
        self,
        unit: npt.ArrayLike,
        loss: npt.ArrayLike,
        quantile: float,
        perturb: float,
        resample: float,
        seed: npt.ArrayLike,
        step: int,
    ) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]
    ]: ...
    def explore(
        self,
        unit: npt.ArrayLike,
        member: npt.ArrayLike,
        n: int,
        perturb: float,
        resample: float,
        seed: npt.ArrayLike,
        step: int,
    ) -> npt.NDArray[np.float64]: ...
