// scales.hpp: per-column maps between the unit cube and parameter values, one per scale
// kind (linear, log, inverse-log, int, int-log, power of two, categorical).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hyperzoom/random.hpp"

namespace hyperzoom {

struct Conditions;

enum class Kind : std::int64_t {
    linear = 0,       // lo + u (hi - lo)
    log = 1,          // exp(log lo + u (log hi - log lo))
    inv_log = 2,      // 1 - exp(log(1-lo) + u (log(1-hi) - log(1-lo)))
    integer = 3,      // lo + floor(u k), k = hi - lo + 1
    int_log = 4,      // floor(t), t log-uniform on [lo, hi + 1)
    power_of_two = 5, // 2^(e_lo + floor(u k)), k = e_hi - e_lo + 1
    categorical = 6,  // index j with cum[j-1] <= u < cum[j]
};

// One column of a space. Integer kinds hold their bounds exactly as doubles (|x| < 2^53).
struct Column {
    Kind kind = Kind::linear;
    double lo = 0.0;
    double hi = 1.0;
    std::vector<double> cum;  // categorical only: cumulative weights, cum.back() == 1

    // Derived constants, set by prepare().
    double a = 0.0;  // start of the scaled axis
    double w = 1.0;  // its width
    std::int64_t k = 0;  // integer kinds: number of values
    std::int64_t ilo = 0;

    [[nodiscard]] bool is_integer() const noexcept {
        return kind == Kind::integer || kind == Kind::int_log || kind == Kind::power_of_two ||
               kind == Kind::categorical;
    }
};

// Checks a column's parameters (std::invalid_argument naming the rule) and fills a, w, k.
void prepare(Column& c);

// Where a kernel writes (or reads) one column's values: doubles for the continuous kinds,
// int64 for the integer kinds (categorical columns hold option indices).
struct ColumnData {
    double* f = nullptr;
    std::int64_t* i = nullptr;
};

// u[0..n) (stride `stride`) -> values. u must lie in [0, 1]; 0 maps to lo and 1 to hi.
void column_from_unit(const Column& c, const double* u, std::size_t stride, std::size_t n,
                      ColumnData out);

// values -> u (stride `stride`), the inverse map. Integer values map to the centre of
// their cell on the scaled axis, so from_unit(to_unit(v)) == v exactly.
void column_to_unit(const Column& c, ColumnData in, std::size_t n, double* u,
                    std::size_t stride);

// Several columns: the unit design is (n, d) row-major.
void space_from_unit(const std::vector<Column>& cols, const double* unit, std::size_t n,
                     const std::vector<ColumnData>& out, int workers);
// As space_from_unit where NaN marks an inactive entry (a conditional parameter): it
// maps to NaN in float columns and to 0 in integer ones (the caller masks those).
void space_from_unit_missing(const std::vector<Column>& cols, const double* unit,
                             std::size_t n, const std::vector<ColumnData>& out, int workers);
// A random sample of a conditional space in one pass over cache-sized chunks of rows:
// the uniforms of space_sample (column j from seed.with_stream(j)), inactive entries NaN,
// forbidden rows redrawn (redraw_row), then the columns (NaN in float columns, 0 in
// integer ones where inactive). Fills unit (n, d; skipped when null), out, and for each
// column j with inactive[j] non-null, inactive[j][i] = 1 where row i leaves it inactive.
// Returns the rows still forbidden after max_attempts.
std::size_t space_sample_conditional(const std::vector<Column>& cols, const Conditions& c,
                                     const Stream& seed, std::size_t n, double* unit,
                                     const std::vector<ColumnData>& out,
                                     const std::vector<std::uint8_t*>& inactive,
                                     std::size_t max_attempts, int workers);
void space_to_unit(const std::vector<Column>& cols, const std::vector<ColumnData>& in,
                   std::size_t n, double* unit, int workers);

// Random sample: column j uses stream seed.with_stream(j), value i its i-th uniform.
void space_sample(const std::vector<Column>& cols, const Stream& seed, std::size_t n,
                  double* unit, const std::vector<ColumnData>& out, int workers);

// The unit coordinates space_sample() draws, alone: (n, d) row-major, column j from
// stream seed.with_stream(j). Lets callers materialise them lazily.
void space_sample_unit(std::size_t d, const Stream& seed, std::size_t n, double* unit,
                       int workers);

}  // namespace hyperzoom
