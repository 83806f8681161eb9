from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from typing_extensions import TypeAlias

_Test: TypeAlias = tuple[int, Sequence[float], Sequence[float]]

class Conditions:
    def __init__(
        self,
        d: int,
        order: Sequence[int],
        when: Sequence[Sequence[_Test]],
        forbidden: Sequence[Sequence[_Test]],
    ) -> None: ...
    @property
    def d(self) -> int: ...
    def apply(self, unit: npt.NDArray[np.float64], workers: int = 1) -> None: ...
    def forbidden_rows(self, unit: npt.ArrayLike) -> npt.NDArray[np.bool_]: ...
    def redraw_forbidden(
        self,
        seed: npt.ArrayLike,
        unit: npt.NDArray[np.float64],
        max_attempts: int,
        workers: int = 1,
    ) -> int: ...
    def restratify(
        self, unit: npt.NDArray[np.float64], centered: bool, cells: Sequence[int]
    ) -> None: ...
