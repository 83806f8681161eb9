// region.hpp: the coarse-to-fine arithmetic: elite selection, boxes in unit (scaled)
// coordinates with margins, minimum widths and panning, and categorical narrowing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hyperzoom {

// How each unit axis is cut: 0 cells = continuous; k > 0 = k ordered cells of width 1/k
// (integers, powers of two); k < 0 = |k| unordered categories whose cell edges are given.
struct Axes {
    std::vector<std::int64_t> cells;            // per dimension
    std::vector<std::vector<double>> edges;     // per dimension: |k| + 1 edges (categorical only)
    std::vector<std::size_t> mask_offset;       // per dimension: start in the allowed mask
    std::size_t mask_size = 0;                  // total categories over all categorical dims

    void prepare();  // checks edges, fills mask_offset / mask_size
    // The cell of axis j (ordered or categorical) that unit coordinate x falls in.
    [[nodiscard]] std::int64_t cell(std::size_t j, double x) const noexcept;
    [[nodiscard]] std::size_t d() const noexcept { return cells.size(); }
};

// A region: a box [lo, hi] per dimension (cell-aligned for ordered integer axes) and,
// for categorical axes, the allowed categories (mask, 1 = allowed; the box is [0, 1]).
struct Region {
    std::vector<double> lo, hi;
    std::vector<std::uint8_t> allowed;
};

struct ShrinkParams {
    double margin = 0.05;     // elite box grown by this share of its width on each side
    double min_width = 0.05;  // smallest box width, as a share of the unit axis
    double pan_edge = 0.05;   // elite within this share of the region's width of an edge...
    double pan_step = 0.5;    // ...grows the region that way by this share of its width
};

// Indices of the k smallest values (ties by index); NaN never selected. With `sorted`
// they come best first, otherwise in an unspecified but deterministic order (the set is
// the same). Returns how many were written (fewer than k when fewer values are finite).
std::size_t select_elite(const double* values, std::size_t n, std::size_t k, std::int64_t* out,
                         bool sorted = true);

// The next region from the elite rows of `unit` (n, d) and the current region.
Region shrink(const Axes& axes, const double* unit, std::size_t n, const std::int64_t* elite,
              std::size_t m, const Region& current, const ShrinkParams& p);

// Map a design v (n, d) in the region's own unit cube to global unit coordinates. A
// categorical axis lays its allowed cells end to end, so weights and strata survive.
void region_to_unit(const Axes& axes, const Region& r, const double* v, std::size_t n,
                    double* u, int workers);

// 1 where row i of u lies in the region (categories by cell), else 0.
void region_contains(const Axes& axes, const Region& r, const double* u, std::size_t n,
                     std::uint8_t* out);

}  // namespace hyperzoom
