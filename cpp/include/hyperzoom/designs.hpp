// designs.hpp: which points get tried. Random and Latin hypercube designs (plain, centred,
// optimised for maximin or centred discrepancy, extended), grids, and quality metrics.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hyperzoom/random.hpp"

namespace hyperzoom {

// Stream ids of the designs: a role in the top byte, a column in the low 24 bits. They
// are all >= 0x10000, so they never meet Space.sample's per-column streams 0..d-1.
inline constexpr std::uint32_t kStreamLhs = 0x01000000u;       // + column j
inline constexpr std::uint32_t kStreamExtend = 0x02000000u;    // + column j
inline constexpr std::uint32_t kStreamOptimize = 0x03000000u;  // one stream
inline constexpr std::uint32_t kStreamRandom = 0x04000000u;    // one stream, row-major
inline constexpr std::size_t kMaxDesignColumns = std::size_t{1} << 24;

// (n, d) row-major uniforms in [0, 1): value (i, j) is uniform i * d + j of one stream.
void random_design(const Stream& seed, std::size_t n, std::size_t d, double* out,
                   int workers);

// (n, d) Latin hypercube: column j is a permutation of the n strata [k/n, (k+1)/n), drawn
// from stream kStreamLhs + j (words 0..n-1 drive a bucketed Fisher-Yates,
// uniforms n..2n-1 place a point within its stratum; centred designs use the centres). floor(u * n) == k
// holds exactly in double arithmetic for the point of stratum k.
void latin_hypercube(const Stream& seed, std::size_t n, std::size_t d, bool centered,
                     double* out, int workers);

// m new rows for an existing (n0, d) design in [0, 1) so that the union of n0 + m rows is
// as close to a Latin hypercube as it can be. In each column the N = n0 + m strata that
// no existing point occupies are found; m of them are chosen at random (all of them when
// exactly m are free, which is the case whenever the existing points fall in distinct
// N-strata, e.g. n -> 2n from a Latin design), and paired at random across columns.
void extend_lhs(const Stream& seed, const double* design, std::size_t n0, std::size_t d,
                std::size_t m, bool centered, double* out, int workers);

enum class Criterion : int { maximin = 1, cd = 2 };

struct OptimizeOptions {
    Criterion criterion = Criterion::cd;
    std::uint64_t iterations = 0;   // proposed swaps
    std::uint64_t stall = 0;        // stop after this many proposals without a new best; 0: never
    double threshold = 0.0;         // initial acceptance threshold, relative to the criterion
                                    // (0: greedy, what the Python layer uses)
};

struct OptimizeReport {
    std::uint64_t proposals = 0;
    std::uint64_t accepted = 0;
    double initial = 0.0;  // criterion of the start design (CD^2, or phi_p's sum)
    double final = 0.0;    // criterion of the returned design (the best one met)
};

// Improves an (n, d) design in place by exchanging two rows' values within one column (so
// every column keeps its values: a Latin design stays Latin). Each proposal costs O(n)
// with the pair matrix kept (n <= kMatrixMaxN), O(n d) without. Randomness comes from
// stream kStreamOptimize only; the result depends on neither `workers` (which only
// splits the O(n^2 d) set-up) nor the SIMD path. For maximin the criterion is
// Morris-Mitchell phi_p with p = 50; for cd the squared centred L2 discrepancy.
inline constexpr std::size_t kMatrixMaxN = 3000;
OptimizeReport optimize_design(const Stream& seed, double* design, std::size_t n,
                               std::size_t d, const OptimizeOptions& options, int workers);

// Discrepancies with scipy.stats.qmc.discrepancy's definitions (squared for CD, WD and
// MD; L2-star is the root). O(n^2 d), rows split across threads; deterministic.
enum class Discrepancy : int { cd = 0, wd = 1, md = 2, l2_star = 3 };
double discrepancy(const double* x, std::size_t n, std::size_t d, Discrepancy method,
                   int workers);

// The smallest Euclidean distance between two rows (0 for n < 2 rows is not defined:
// callers pass n >= 2).
double min_distance(const double* x, std::size_t n, std::size_t d, int workers);

// The full grid: levels[j] holds counts[j] unit coordinates of column j; rows enumerate
// the Cartesian product with the last column varying fastest.
void grid_fill(const double* const* levels, const std::size_t* counts, std::size_t d,
               double* out, int workers);

}  // namespace hyperzoom
