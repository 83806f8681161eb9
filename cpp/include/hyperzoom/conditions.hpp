// conditions.hpp: conditional parameters and forbidden combinations on the unit cube.
//
// A parameter may be active only when tests on other parameters hold (its conditions);
// an inactive parameter's unit coordinate is NaN. A forbidden clause is a set of tests
// that no configuration may satisfy all at once. Tests read unit coordinates only, so
// sampling, Latin hypercubes and grids honour them without knowing the scales.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hyperzoom/random.hpp"

namespace hyperzoom {

// Holds when the parameter is active (not NaN) and its unit coordinate u lies in one of
// the intervals [lo_k, hi_k); an interval whose hi is 1 also holds 1 itself.
struct Test {
    std::size_t param = 0;
    std::vector<double> lo, hi;

    [[nodiscard]] bool holds(double u) const noexcept {
        if (!(u == u)) return false;  // inactive
        for (std::size_t k = 0; k < lo.size(); ++k) {
            if (u >= lo[k] && (u < hi[k] || (hi[k] >= 1.0 && u <= 1.0))) return true;
        }
        return false;
    }
};

struct Conditions {
    std::size_t d = 0;
    std::vector<std::size_t> order;           // every parameter once, parents first
    std::vector<std::vector<Test>> when;      // per parameter: all must hold to be active
    std::vector<std::vector<Test>> forbidden; // clauses: a row holding every test is forbidden

    // Checks sizes, the order (a permutation with parents first) and the intervals;
    // std::invalid_argument naming the rule otherwise.
    void check() const;
    // Sets the coordinates of inactive parameters of one row (d values) to NaN.
    void apply_row(double* row) const noexcept;
    // The same for n rows (row-major (n, d)), split over threads.
    void apply(double* unit, std::size_t n, int workers) const;
    [[nodiscard]] bool is_forbidden(const double* row) const noexcept;
};

// Redraws row i (d values) while it is forbidden, as redraw_forbidden does; returns
// whether it is still forbidden after `max_attempts` attempts.
bool redraw_row(const Conditions& c, const Stream& seed, double* row, std::size_t i,
                std::size_t max_attempts) noexcept;

// Redraws each forbidden row of unit (n, d) from fresh uniforms: attempt t = 1, 2, ...
// of row i takes column j's value from stream 0x40000000 + t * d + j of `seed`, index i,
// then applies the conditions. A row's result depends on (seed, i) only, never on the
// threads. Returns the number of rows still forbidden after `max_attempts` attempts.
std::size_t redraw_forbidden(const Conditions& c, const Stream& seed, double* unit,
                             std::size_t n, std::size_t max_attempts, int workers);

// Latin stratification within active rows, parents first. `unit` is a Latin design over
// all n rows. Parameter by parameter in `order`: a conditional parameter's active rows
// (m of them, decided by its parents' final values) are given the m strata of [0, 1] in
// the order of their current values, keeping each value's offset inside its old stratum
// (centred: the middle), and its other rows NaN; unconditional columns keep their
// strata (m = n). Then an integer or choice column is balanced over those rows before
// its children read it: cells[j] = k > 0 (k equal cells: stratum p goes to cell
// floor((2p + 1) k / 2m), at its centre, so each value appears floor(m/k) or ceil(m/k)
// times), -1 (unequal cells: the stratum's centre (p + 1/2) / m), 0 (continuous).
void restratify(const Conditions& c, double* unit, std::size_t n, bool centered,
                const std::vector<std::int64_t>& cells);

}  // namespace hyperzoom
