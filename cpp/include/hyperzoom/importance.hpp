// importance.hpp: per-parameter share of the variance of an objective, from the first-order
// main effects of a design's results on each scaled (unit) axis, with bootstrap intervals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hyperzoom/random.hpp"
#include "hyperzoom/region.hpp"

namespace hyperzoom {

// Bin of every (row, column): categorical and small ordered-integer axes by their cells,
// the others by rank into `bins` groups of (nearly) equal counts. Returns the number of
// bins used per column; fills bin (n, d) row-major.
std::vector<std::int32_t> bin_columns(const Axes& axes, const double* unit, std::size_t n,
                                      std::size_t bins, std::int32_t* bin, int workers);

// Adjusted share of variance (epsilon squared) explained by the bins of each column:
// (SS_between - (B - 1) MS_within) / SS_total, clipped at 0. Rows are taken through
// `rows` (n_rows indices, repeats allowed) so the bootstrap can reuse it.
void main_effect_shares(const std::int32_t* bin, std::size_t d, const std::vector<std::int32_t>& nbins,
                        const double* y, const std::uint32_t* rows, std::size_t n_rows,
                        double* share);

struct ImportanceOutput {
    std::vector<double> share;            // (d,) on all rows
    std::vector<double> boot;             // (n_boot, d) replicates
};

// Shares on all rows, plus n_boot bootstrap replicates (row resamples drawn from the
// stream; replicate r uses stream id seed.stream + r), threaded over replicates.
ImportanceOutput importance(const Axes& axes, const double* unit, const double* y, std::size_t n,
                            std::size_t bins, std::size_t n_boot, const Stream& seed, int workers);

}  // namespace hyperzoom
