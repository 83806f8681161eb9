import numpy as np
import numpy.typing as npt

from .region import Axes

class Zoom:
    def __init__(
        self,
        axes: Axes,
        round_size: int = 0,
        first_round: int = 0,
        keep: float = 0.5,
        min_width: float = 0.05,
        max_doublings: int = 16,
    ) -> None: ...
    @property
    def coarse(self) -> bool: ...
    @property
    def round_size(self) -> int: ...
    @property
    def run(self) -> int: ...
    @property
    def round(self) -> int: ...
    @property
    def sigma(self) -> float: ...
    @property
    def event(self) -> str: ...
    def sample(self, v: npt.ArrayLike, workers: int = 1) -> npt.NDArray[np.float64]: ...
    def tell(self, values: npt.ArrayLike) -> int: ...
    def raw(self) -> npt.NDArray[np.float64]: ...
    def observe(
        self, unit: npt.ArrayLike, raw: npt.ArrayLike, values: npt.ArrayLike
    ) -> int: ...
    def region(
        self,
    ) -> tuple[
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.bool_],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.int64],
    ]: ...
