// region.cpp: elite selection and region shrinking, all on the unit (scaled) axes.
#include "hyperzoom/region.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "hyperzoom/parallel.hpp"

namespace hyperzoom {

std::int64_t Axes::cell(std::size_t j, double x) const noexcept {
    const std::int64_t c = cells[j];
    if (c > 0) {
        const auto i = static_cast<std::int64_t>(x * static_cast<double>(c));
        return std::min(std::max<std::int64_t>(i, 0), c - 1);
    }
    const auto& e = edges[j];
    const auto k = static_cast<std::int64_t>(e.size()) - 1;
    const auto i = static_cast<std::int64_t>(std::upper_bound(e.begin() + 1, e.end() - 1, x) - e.begin()) - 1;
    return std::min(std::max<std::int64_t>(i, 0), k - 1);
}

void Axes::prepare() {
    const std::size_t d = cells.size();
    if (edges.size() != d) throw std::invalid_argument("`edges` must have one entry per dimension.");
    mask_offset.assign(d, 0);
    mask_size = 0;
    for (std::size_t j = 0; j < d; ++j) {
        if (cells[j] >= 0) continue;
        const auto k = static_cast<std::size_t>(-cells[j]);
        const auto& e = edges[j];
        if (e.size() != k + 1 || e.front() != 0.0 || e.back() != 1.0)
            throw std::invalid_argument("categorical axis " + std::to_string(j) +
                                        ": `edges` must hold k + 1 values from 0 to 1.");
        for (std::size_t i = 1; i < e.size(); ++i)
            if (!(e[i] > e[i - 1]))
                throw std::invalid_argument("categorical axis " + std::to_string(j) +
                                            ": `edges` must increase.");
        mask_offset[j] = mask_size;
        mask_size += k;
    }
}

std::size_t select_elite(const double* values, std::size_t n, std::size_t k, std::int64_t* out,
                         bool sorted) {
    std::vector<std::int64_t> idx;
    idx.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isnan(values[i])) idx.push_back(static_cast<std::int64_t>(i));
    k = std::min(k, idx.size());
    if (k == 0) return 0;
    // Ties broken by index so the elite never depends on anything but the values.
    auto better = [values](std::int64_t a, std::int64_t b) {
        const double va = values[a], vb = values[b];
        return va < vb || (va == vb && a < b);
    };
    if (k < idx.size())
        std::nth_element(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k - 1), idx.end(), better);
    if (sorted) std::sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), better);
    std::copy(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), out);
    return k;
}

Region shrink(const Axes& axes, const double* unit, std::size_t n, const std::int64_t* elite,
              std::size_t m, const Region& cur, const ShrinkParams& p) {
    const std::size_t d = axes.d();
    if (m == 0) throw std::invalid_argument("the elite must not be empty.");
    Region next{std::vector<double>(d), std::vector<double>(d), cur.allowed};
    for (std::size_t j = 0; j < d; ++j) {
        const std::int64_t c = axes.cells[j];
        if (c < 0) {
            // Categories: keep exactly those the elite uses (never none: m >= 1).
            const std::size_t off = axes.mask_offset[j];
            const auto k = static_cast<std::size_t>(-c);
            std::fill(next.allowed.begin() + static_cast<std::ptrdiff_t>(off),
                      next.allowed.begin() + static_cast<std::ptrdiff_t>(off + k), std::uint8_t{0});
            for (std::size_t e = 0; e < m; ++e) {
                const auto row = static_cast<std::size_t>(elite[e]);
                if (row >= n) throw std::out_of_range("elite index out of range.");
                next.allowed[off + static_cast<std::size_t>(axes.cell(j, unit[row * d + j]))] = 1;
            }
            next.lo[j] = 0.0;
            next.hi[j] = 1.0;
            continue;
        }
        double emin = 1.0, emax = 0.0;
        for (std::size_t e = 0; e < m; ++e) {
            const auto row = static_cast<std::size_t>(elite[e]);
            if (row >= n) throw std::out_of_range("elite index out of range.");
            const double x = unit[row * d + j];
            emin = std::min(emin, x);
            emax = std::max(emax, x);
        }
        const double width = emax - emin;
        double lo = emin - p.margin * width;
        double hi = emax + p.margin * width;
        // Panning: an elite pressed against an edge of the current region (that is not
        // the space's edge) means the optimum may lie beyond it: grow that way.
        const double cw = cur.hi[j] - cur.lo[j];
        if (cur.lo[j] > 0.0 && emin - cur.lo[j] <= p.pan_edge * cw) lo = std::min(lo, cur.lo[j] - p.pan_step * cw);
        if (cur.hi[j] < 1.0 && cur.hi[j] - emax <= p.pan_edge * cw) hi = std::max(hi, cur.hi[j] + p.pan_step * cw);
        // Minimum width, centred on the box, shifted (not shrunk) to stay in [0, 1].
        const double minw = std::min(1.0, p.min_width);
        if (hi - lo < minw) {
            const double mid = 0.5 * (lo + hi);
            lo = mid - 0.5 * minw;
            hi = mid + 0.5 * minw;
        }
        if (lo < 0.0) {
            hi = std::min(1.0, hi - lo);
            lo = 0.0;
        }
        if (hi > 1.0) {
            lo = std::max(0.0, lo - (hi - 1.0));
            hi = 1.0;
        }
        if (c > 0) {
            // Ordered integers narrow to exactly the cells the elite uses: no margin, no
            // panning (the elite spans the whole range, so it would always "press").
            const double k = static_cast<double>(c);
            const std::int64_t a = axes.cell(j, emin);
            const std::int64_t b = axes.cell(j, emax);
            lo = static_cast<double>(a) / k;
            hi = b + 1 == c ? 1.0 : static_cast<double>(b + 1) / k;
        }
        next.lo[j] = lo;
        next.hi[j] = hi;
    }
    return next;
}

void region_to_unit(const Axes& axes, const Region& r, const double* v, std::size_t n,
                    double* u, int workers) {
    const std::size_t d = axes.d();
    // Per categorical axis: the allowed cells' [start, end) laid end to end.
    std::vector<std::vector<double>> starts(d), ends(d), cumlen(d);
    for (std::size_t j = 0; j < d; ++j) {
        if (axes.cells[j] >= 0) continue;
        const auto& e = axes.edges[j];
        double total = 0.0;
        for (std::size_t c = 0; c + 1 < e.size(); ++c) {
            if (!r.allowed[axes.mask_offset[j] + c]) continue;
            starts[j].push_back(e[c]);
            ends[j].push_back(e[c + 1]);
            total += e[c + 1] - e[c];
            cumlen[j].push_back(total);
        }
        if (starts[j].empty())
            throw std::invalid_argument("categorical axis " + std::to_string(j) + " allows no category.");
    }
    parallel_for(n, workers, 1 << 14, 1, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            for (std::size_t j = 0; j < d; ++j) {
                const double x = v[i * d + j];
                if (axes.cells[j] == 0) {
                    const double y = r.lo[j] + x * (r.hi[j] - r.lo[j]);
                    u[i * d + j] = std::min(std::max(y, r.lo[j]), r.hi[j]);
                    continue;
                }
                if (axes.cells[j] > 0) {
                    // Whole cells: keep points a hair inside the box so rounding in
                    // floor(u k) can never land in a neighbouring cell.
                    const double eps = 1e-9 / static_cast<double>(axes.cells[j]);
                    const double y = r.lo[j] + x * (r.hi[j] - r.lo[j]);
                    u[i * d + j] = std::min(std::max(y, r.lo[j] + eps), r.hi[j] - eps);
                    continue;
                }
                const auto& cl = cumlen[j];
                const double t = x * cl.back();
                auto it = std::upper_bound(cl.begin(), cl.end(), t);
                if (it == cl.end()) --it;
                const auto c = static_cast<std::size_t>(it - cl.begin());
                const double before = c == 0 ? 0.0 : cl[c - 1];
                // The point's position inside its cell, kept a hair inside the cell.
                const double y = starts[j][c] + (t - before);
                const double eps = 1e-9 * (ends[j][c] - starts[j][c]);
                u[i * d + j] = std::min(std::max(y, starts[j][c] + eps), ends[j][c] - eps);
            }
        }
    });
}

void region_contains(const Axes& axes, const Region& r, const double* u, std::size_t n,
                     std::uint8_t* out) {
    const std::size_t d = axes.d();
    for (std::size_t i = 0; i < n; ++i) {
        bool in = true;
        for (std::size_t j = 0; j < d && in; ++j) {
            const double x = u[i * d + j];
            if (axes.cells[j] < 0) {
                in = r.allowed[axes.mask_offset[j] + static_cast<std::size_t>(axes.cell(j, x))] != 0;
            } else {
                in = x >= r.lo[j] && x <= r.hi[j];
            }
        }
        out[i] = in ? 1 : 0;
    }
}

}  // namespace hyperzoom
