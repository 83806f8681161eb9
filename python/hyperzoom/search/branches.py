"""Coarse to fine on a conditional space: one region per branch, trials shared by merit.

A *branch* fixes, for every parameter that conditions others (a *parent*), which piece
of its unit axis it lies in: each option of a ``Choice`` parent is a piece of its own,
and the axis of an integer or continuous parent is cut where a condition's values
start or end. Within a branch the set of active parameters is fixed, so the branch is a
flat space: its own compiled region (``_core.search.Zoom``) zooms on the branch's
active axes, each parent kept inside its piece. The elite of one optimizer never moves
another optimizer's momentum.

Rounds: the first round of the search holds the coarse round of every branch. Then
each round advances the branches whose credit covers one of their own rounds; credit
accrues in proportion to a branch's share, which follows its rank among the branches by
best value (log-rank weights, as CMA-ES weighs its elite) above a floor, the explore
share, divided equally so no branch is ever starved. All of it is deterministic: the
same seed and the same values give the same trials, whatever the threads.

Forbidden rows a branch's region proposes are replaced by random draws from the branch
(never evaluated as proposed); the region is told they failed, which moves it away from
the forbidden corner.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _core, designs
from .._validation import plain
from ..space import Choice, Space
from ..space.conditions import MAX_ATTEMPTS, condition_intervals

__all__ = ["EXPLORE", "MAX_BRANCHES", "BranchZoom", "count_branches", "space_branches"]

#: Share of trials spread evenly over all branches, whatever their results.
EXPLORE = 0.2
#: More branches than this are refused (each needs rounds of its own to learn).
MAX_BRANCHES = 256


class _Branch:
    """One branch: its pieces, active axes, the affine map to the space's units."""

    def __init__(
        self,
        label: dict[str, Any],
        axes: list[int],
        lo: np.ndarray,
        hi: np.ndarray,
        fixed: dict[int, float],
        fixed_piece: dict[int, tuple[float, float]],
        cells: list[int],
        edges: list[np.ndarray | None],
    ) -> None:
        self.label = label  # parent name -> the values of its piece (for display)
        self.axes = np.array(axes, dtype=np.int64)  # free active axes, in space order
        self.lo, self.hi = lo, hi  # the pieces of the free axes (global units)
        self.fixed = fixed  # active axes with one value in the branch: its unit
        # ... and the piece [lo, hi) of the unit axis that value covers (routing)
        self.fixed_piece = fixed_piece
        self.cells = cells
        self.edges = edges
        self.ordered = np.array(
            [a for a, c in zip(axes, cells) if c >= 0], dtype=np.int64
        )
        # where those ordered axes sit among the free axes
        self.ordered_pos = np.array(
            [k for k, c in enumerate(cells) if c >= 0], dtype=np.int64
        )
        self.raw_cols = np.zeros(0, dtype=np.int64)  # set by BranchZoom
        self.zoom: Any = None
        self.best = math.inf
        self.told = 0
        self.credit = 0.0

    def to_global(self, s: np.ndarray, d: int) -> np.ndarray:
        """Map branch units (n, free axes) to the space's units (n, d), NaN inactive."""
        u = np.full((s.shape[0], d), np.nan)
        if self.axes.size:
            v = self.lo + (self.hi - self.lo) * s
            # A piece is [lo, hi): its right end belongs to the next piece (unless 1).
            top = np.where(self.hi < 1.0, np.nextafter(self.hi, 0.0), 1.0)
            u[:, self.axes] = np.minimum(v, top)
        for j, x in self.fixed.items():
            u[:, j] = x
        return u


def _pieces(space: Space) -> dict[str, list[tuple[float, float]]]:
    """Return the pieces of each parent's unit axis (see the module docstring)."""
    cuts: dict[str, set[float]] = {}
    for name in space.names:
        for parent, value in space[name]._when:
            lo, hi = condition_intervals(name, parent, space[parent], value)
            cuts.setdefault(parent, {0.0, 1.0}).update(lo + hi)
    out = {}
    for parent, edges in cuts.items():
        dist = space[parent]
        if isinstance(dist, Choice):  # every option is a piece of its own
            edges.update(float(x) for x in dist.edges)
        pts = sorted(edges)
        out[parent] = [(a, b) for a, b in zip(pts[:-1], pts[1:]) if b > a]
    return out


def _holds(space: Space, name: str, at: dict[str, tuple[float, float]]) -> bool:
    """Whether ``name`` is active when each assigned parent lies in its piece."""
    for parent, value in space[name]._when:
        if parent not in at:
            return False
        mid = 0.5 * (at[parent][0] + at[parent][1])
        lo, hi = condition_intervals(name, parent, space[parent], value)
        if not any(a <= mid < b for a, b in zip(lo, hi)):
            return False
    return True


def space_branches(space: Space) -> list[_Branch]:
    """Enumerate the branches of a conditional space (one for a flat space)."""
    pieces = _pieces(space)
    parents = [n for n in space.order if n in pieces]
    found: list[dict[str, tuple[float, float]]] = []

    def walk(k: int, at: dict[str, tuple[float, float]]) -> None:
        if len(found) > MAX_BRANCHES:
            return
        if k == len(parents):
            found.append(dict(at))
            return
        p = parents[k]
        if not _holds(space, p, at) and space[p]._when:
            walk(k + 1, at)
            return
        for piece in pieces[p]:
            at[p] = piece
            walk(k + 1, at)
            del at[p]

    walk(0, {})
    if len(found) > MAX_BRANCHES:
        msg = (
            f"the conditions of this space make more than {MAX_BRANCHES} branches (each "
            "combination of the pieces of its parents); coarse to fine needs rounds in "
            "each. Condition on fewer values, or merge options."
        )
        raise ValueError(msg)
    return [_build(space, at) for at in found]


def _build(space: Space, at: dict[str, tuple[float, float]]) -> _Branch:
    axes: list[int] = []
    lo: list[float] = []
    hi: list[float] = []
    cells: list[int] = []
    edges: list[np.ndarray | None] = []
    fixed: dict[int, float] = {}
    pieces: dict[int, tuple[float, float]] = {}
    label: dict[str, Any] = {}
    for j, (name, dist) in enumerate(space.items()):
        if dist._when and not _holds(space, name, at):
            continue
        a, b = at.get(name, (0.0, 1.0))
        if name in at:
            first, last = (plain(x) for x in dist.from_unit(np.array([a, _below(b)])))
            # the piece's one value, or its first and last value (a range if continuous)
            label[name] = first if first == last and dist.is_integer else (first, last)
        if isinstance(dist, Choice):
            e = dist.edges
            inside = [
                i
                for i in range(len(dist.options))
                if a <= e[i] and e[i + 1] <= b + 1e-15
            ]
            if len(inside) == 1:
                fixed[j] = 0.5 * (e[inside[0]] + e[inside[0] + 1])
                pieces[j] = (float(e[inside[0]]), float(e[inside[0] + 1]))
                continue
            sub = (e[inside[0] : inside[-1] + 2] - a) / (b - a)
            sub[0], sub[-1] = 0.0, 1.0
            cells.append(-len(inside))
            edges.append(np.ascontiguousarray(sub, dtype=np.float64))
        elif dist.is_integer:
            first, last = dist.from_unit(np.array([a, _below(b)]))
            if first == last:
                fixed[j] = float(dist.to_unit(np.array([first]))[0])
                pieces[j] = (float(a), float(b))
                continue
            if dist.kind in (3, 5):  # equal cells: the piece holds whole cells
                cells.append(round((b - a) * dist._cell_count()))
            else:
                cells.append(0)
            edges.append(None)
        else:
            cells.append(0)
            edges.append(None)
        axes.append(j)
        lo.append(a)
        hi.append(b)
    return _Branch(label, axes, np.array(lo), np.array(hi), fixed, pieces, cells, edges)


def count_branches(space: Space) -> int:
    """Return how many branches coarse to fine keeps a region for on ``space``."""
    return len(_allowed(space, space_branches(space)))


def _allowed(space: Space, branches: list[_Branch]) -> list[_Branch]:
    """Drop the branches a forbidden clause covers whole (none of 256 draws allowed)."""
    if not space.forbidden:
        return branches
    probe = np.random.default_rng(0)
    keep = []
    for b in branches:
        u = b.to_global(probe.random((256, b.axes.size)), space.d)
        if not np.asarray(space._cond.forbidden_rows(u)).all():
            keep.append(b)
    if not keep:
        space._check_stuck(1)
    return keep


class BranchZoom:
    """The compiled ``Zoom``'s interface over the branches of a conditional space.

    ``CoarseToFine`` drives it as it drives one ``Zoom``: ``sample`` a round, ``tell``
    its values (or ``observe`` arrivals), read ``region`` and ``raw``.
    """

    def __init__(
        self,
        space: Space,
        *,
        round_size: int,
        first_round: int,
        keep: float,
        min_width: float,
        max_doublings: int,
        rng: np.random.Generator,
    ) -> None:
        self.space = space
        self.branches = _allowed(space, space_branches(space))
        self._gen = rng
        ordered = np.array(
            [
                j
                for j, d in enumerate(space.params.values())
                if not isinstance(d, Choice)
            ],
            dtype=np.int64,
        )
        self._p = ordered.size
        for b in self.branches:
            # where the branch's ordered axes sit among the space's (raw draws' columns)
            b.raw_cols = np.searchsorted(ordered, b.ordered)
            if not b.axes.size:
                continue  # every active parameter has one value here: nothing to zoom
            b.zoom = _core.search.Zoom(
                _core.region.Axes(np.array(b.cells, dtype=np.int64), b.edges),
                round_size,
                first_round,
                keep,
                min_width,
                max_doublings,
            )
        self._round = 0
        self._plan: list[
            tuple[int, int, int]
        ] = []  # (branch, start, stop) of the round
        self._replaced = np.zeros(0, dtype=bool)
        self._raw = np.zeros((0, self._p))
        # asynchronous arrivals not yet learnt from, per branch: unit rows, raw draws
        # (on the space's ordered axes) and losses
        self._pending: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._plan_round()

    # -- the Zoom interface ---------------------------------------------------------------
    @property
    def coarse(self) -> bool:
        """True during the first round (every branch's coarse round)."""
        return self._round == 0

    @property
    def run(self) -> int:
        """Always 0: restarts happen inside the branches."""
        return 0

    @property
    def round_size(self) -> int:
        """Trials in the current round (the rounds of the branches it advances)."""
        return self._plan[-1][2] if self._plan else 0

    def raw(self) -> np.ndarray:
        """Return the current round's draws before mirroring, on the ordered axes."""
        return self._raw

    def sample(self, v: np.ndarray, workers: int = 1) -> np.ndarray:
        """Return the rows of the current round.

        ``v``, the caller's design, is not used: each branch draws its own Latin design
        on its own axes.
        """
        d = self.space.d
        parts = []
        raws = []
        replaced = []
        for bi, start, stop in self._plan:
            b = self.branches[bi]
            n = stop - start
            k = b.axes.size
            design = (
                np.asarray(designs.latin_hypercube(n, k, rng=self._gen))
                if k
                else np.zeros((n, 0))
            )
            s = (
                np.asarray(b.zoom.sample(np.ascontiguousarray(design), workers))
                if k
                else design
            )
            u = b.to_global(s, d)
            raw = np.full((n, self._p), np.nan)
            if k and b.ordered.size:
                raw[:, b.raw_cols] = np.asarray(b.zoom.raw())
            bad = self._replace_forbidden(b, u)
            parts.append(u)
            raws.append(raw)
            replaced.append(bad)
        rows = np.concatenate(parts) if parts else np.zeros((0, d))
        self._raw = np.concatenate(raws) if raws else np.zeros((0, self._p))
        self._replaced = (
            np.concatenate(replaced) if replaced else np.zeros(0, dtype=bool)
        )
        # Rows are handed out in order: interleave the branches in proportion to their
        # parts, so a round cut short (a budget, asynchronous asks, proposals) holds
        # every branch's share instead of the first branches' rows only.
        order = self._order
        self._raw = self._raw[order]
        self._replaced = self._replaced[order]
        return np.ascontiguousarray(rows[order])

    def _replace_forbidden(self, b: _Branch, u: np.ndarray) -> np.ndarray:
        """Replace forbidden rows with random draws from the branch; return where."""
        cond = self.space._cond
        bad = np.zeros(u.shape[0], dtype=bool)
        if cond is None or not self.space.forbidden:
            return bad
        bad = np.asarray(cond.forbidden_rows(u))
        todo = np.flatnonzero(bad)
        for _ in range(MAX_ATTEMPTS):
            if todo.size == 0:
                return bad
            fresh = b.to_global(self._gen.random((todo.size, b.axes.size)), u.shape[1])
            u[todo] = fresh
            todo = todo[np.asarray(cond.forbidden_rows(u[todo]))]
        self.space._check_stuck(int(todo.size))
        return bad

    def tell(self, losses: np.ndarray) -> int:
        """Tell each branch its part of the round; plan the next round."""
        finite = 0
        by_plan = np.empty(len(losses), dtype=np.float64)
        by_plan[self._order] = losses  # back from the interleaved order of sample
        losses = by_plan
        replaced = np.empty_like(self._replaced)
        replaced[self._order] = self._replaced
        for bi, start, stop in self._plan:
            b = self.branches[bi]
            vals = np.array(losses[start:stop], dtype=np.float64)
            self._note(b, vals)
            vals[replaced[start:stop]] = np.nan
            finite += int(np.isfinite(vals).sum())
            if b.axes.size:
                b.zoom.tell(np.ascontiguousarray(vals))
        self._round += 1
        self._plan_round()
        return finite

    def observe(self, unit: np.ndarray, raw: np.ndarray, losses: np.ndarray) -> int:
        """Learn from asynchronous arrivals.

        Each row goes to its branch; a branch learns once it holds a round of its own
        (exactly a round while coarse, all it holds after).
        """
        which = self.branch_of(unit)
        # A row in no branch (one a forbidden clause removed whole) teaches nothing.
        for bi in np.unique(which[which >= 0]).tolist():
            mine = which == bi
            new = (unit[mine], raw[mine], np.asarray(losses, dtype=np.float64)[mine])
            old = self._pending.get(bi)
            self._pending[bi] = (
                new if old is None else tuple(np.concatenate(p) for p in zip(old, new))  # type: ignore[assignment]
            )
        for bi, (u_all, r_all, v_all) in sorted(self._pending.items()):
            b = self.branches[bi]
            size = int(b.zoom.round_size) if b.axes.size else 1
            if v_all.size < size:
                continue
            take = size if b.axes.size and b.zoom.coarse else v_all.size
            self._pending[bi] = (u_all[take:], r_all[take:], v_all[take:])
            u, r, vals = u_all[:take], r_all[:take], v_all[:take]
            self._note(b, vals)
            if not b.axes.size:
                continue
            s = np.clip((u[:, b.axes] - b.lo) / (b.hi - b.lo), 0.0, 1.0)
            raw = r[:, b.raw_cols]
            own = np.isnan(raw)  # observed points were drawn nowhere: where they lie
            if own.any():
                raw = np.where(own, s[:, b.ordered_pos], raw)
            b.zoom.observe(
                np.ascontiguousarray(s),
                np.ascontiguousarray(raw),
                np.ascontiguousarray(vals),
            )
        self._round += 1
        self._plan_round()
        return int(np.isfinite(losses).sum())

    def region(self) -> tuple[Any, ...]:
        """Return the bounding box of every branch's region (all options allowed)."""
        d = self.space.d
        lo = np.ones(d)
        hi = np.zeros(d)
        for b in self.branches:
            if not b.axes.size:
                continue
            blo, bhi = b.zoom.region()[:2]
            g_lo = b.to_global(np.asarray(blo)[None, :], d)[0]
            g_hi = b.to_global(np.asarray(bhi)[None, :], d)[0]
            for j in b.axes:
                lo[j] = min(lo[j], g_lo[j])
                hi[j] = max(hi[j], g_hi[j])
        for b in self.branches:
            for j, x in b.fixed.items():
                lo[j] = min(lo[j], x)
                hi[j] = max(hi[j], x)
        for j, dist in enumerate(self.space.params.values()):
            if isinstance(dist, Choice) or lo[j] > hi[j]:
                lo[j], hi[j] = 0.0, 1.0
        n_opts = sum(
            len(dd.options)
            for dd in self.space.params.values()
            if isinstance(dd, Choice)
        )
        return (lo, hi, np.ones(n_opts, dtype=bool), None, None, None, None)

    # -- branches -------------------------------------------------------------------------
    def branch_of(self, unit: np.ndarray) -> np.ndarray:
        """Return the branch of each unit row (whose pieces and activity it fits)."""
        unit = np.atleast_2d(unit)
        out = np.full(unit.shape[0], -1, dtype=np.int64)
        active = ~np.isnan(unit)
        for bi, b in enumerate(self.branches):
            ok = out < 0
            mask = np.zeros(self.space.d, dtype=bool)
            mask[b.axes] = True
            for j in b.fixed:
                mask[j] = True
            ok &= (active == mask).all(axis=1)
            if b.axes.size:
                sub = unit[:, b.axes]
                ok &= ((sub >= b.lo) & ((sub < b.hi) | (b.hi >= 1.0))).all(axis=1)
            # a fixed axis: anywhere in the piece its one value covers (rows from
            # space.sample lie anywhere in a choice's or an integer's cell)
            for j, (pa, pb) in b.fixed_piece.items():
                u = unit[:, j]
                ok &= (u >= pa) & ((u < pb) | (pb >= 1.0))
            out[ok] = bi
        return out

    def shares(self) -> np.ndarray:
        """Each branch's share of new trials: log-rank weights above the explore floor."""
        nb = len(self.branches)
        best = np.array([b.best for b in self.branches])
        order = np.lexsort((np.arange(nb), best))
        ranks = np.empty(nb, dtype=np.int64)
        ranks[order] = np.arange(nb)
        w = (
            np.maximum(0.0, math.log((nb + 1) / 2) - np.log(ranks + 1.0))
            if nb > 1
            else np.ones(1)
        )
        w[~np.isfinite(best)] = 0.0
        w = w / w.sum() if w.sum() > 0 else np.full(nb, 1.0 / nb)
        return EXPLORE / nb + (1.0 - EXPLORE) * w

    def _note(self, b: _Branch, vals: np.ndarray) -> None:
        fin = vals[np.isfinite(vals)]
        b.told += vals.size
        if fin.size:
            b.best = min(b.best, float(fin.min()))

    def _plan_round(self) -> None:
        sizes = [int(b.zoom.round_size) if b.axes.size else 1 for b in self.branches]
        if self._round == 0:
            chosen = list(range(len(self.branches)))
        else:
            shares = self.shares()
            target = max(sizes)
            chosen = []
            for bi, b in enumerate(self.branches):
                b.credit += shares[bi] * target
            for bi, b in enumerate(self.branches):
                if b.credit >= sizes[bi]:
                    chosen.append(bi)
            if not chosen:
                ratio = [b.credit / s for b, s in zip(self.branches, sizes)]
                chosen = [int(np.argmax(ratio))]
            for bi in chosen:
                self.branches[bi].credit -= sizes[bi]
        plan = []
        at = 0
        keys = []
        for bi in chosen:
            plan.append((bi, at, at + sizes[bi]))
            at += sizes[bi]
            keys.append((np.arange(sizes[bi]) + 0.5) / sizes[bi])
        self._plan = plan
        # the round's rows in the order they are handed out (see sample)
        self._order = (
            np.argsort(np.concatenate(keys), kind="stable")
            if keys
            else np.zeros(0, dtype=np.int64)
        )


def _below(b: float) -> float:
    """Return the last unit coordinate of a piece ending at ``b`` ([a, b), or to 1)."""
    return float(np.nextafter(b, 0.0)) if b < 1.0 else 1.0
