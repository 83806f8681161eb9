// conditions.cpp: activity of conditional parameters, forbidden rows and stratification
// within the rows where a parameter is active.
#include "hyperzoom/conditions.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "hyperzoom/parallel.hpp"

namespace hyperzoom {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void require(bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument(message);
}

void check_test(const Test& t, std::size_t d, const std::string& where) {
    require(t.param < d, where + ": a test names parameter " + std::to_string(t.param) +
                             " of a space of " + std::to_string(d) + ".");
    require(t.lo.size() == t.hi.size() && !t.lo.empty(),
            where + ": a test needs as many interval starts as ends, at least one.");
    for (std::size_t k = 0; k < t.lo.size(); ++k) {
        require(t.lo[k] >= 0.0 && t.lo[k] < t.hi[k] && t.hi[k] <= 1.0,
                where + ": intervals must satisfy 0 <= lo < hi <= 1.");
    }
}

}  // namespace

void Conditions::check() const {
    require(order.size() == d, "`order` must name every parameter once.");
    require(when.size() == d, "`when` must have one list of tests per parameter.");
    std::vector<std::size_t> rank(d, d);
    for (std::size_t k = 0; k < d; ++k) {
        require(order[k] < d && rank[order[k]] == d, "`order` must be a permutation.");
        rank[order[k]] = k;
    }
    for (std::size_t j = 0; j < d; ++j) {
        for (const Test& t : when[j]) {
            check_test(t, d, "when");
            require(rank[t.param] < rank[j], "`order` must put every parent before its child.");
        }
    }
    for (const auto& clause : forbidden) {
        require(!clause.empty(), "a forbidden clause needs at least one test.");
        for (const Test& t : clause) check_test(t, d, "forbidden");
    }
}

void Conditions::apply_row(double* row) const noexcept {
    for (const std::size_t j : order) {
        for (const Test& t : when[j]) {
            if (!t.holds(row[t.param])) {
                row[j] = kNaN;
                break;
            }
        }
    }
}

void Conditions::apply(double* unit, std::size_t n, int workers) const {
    bool any = false;
    for (const auto& w : when) any = any || !w.empty();
    if (!any || d == 0) return;
    parallel_for(n, workers, 4096, 1, [&](std::size_t a, std::size_t b) {
        for (std::size_t i = a; i < b; ++i) apply_row(unit + i * d);
    });
}

bool Conditions::is_forbidden(const double* row) const noexcept {
    for (const auto& clause : forbidden) {
        bool all = true;
        for (const Test& t : clause) {
            if (!t.holds(row[t.param])) {
                all = false;
                break;
            }
        }
        if (all) return true;
    }
    return false;
}

bool redraw_row(const Conditions& c, const Stream& seed, double* row, std::size_t i,
                std::size_t max_attempts) noexcept {
    const std::size_t d = c.d;
    std::size_t t = 0;
    while (c.is_forbidden(row)) {
        if (t == max_attempts) return true;
        ++t;
        for (std::size_t j = 0; j < d; ++j) {
            const auto s = static_cast<std::uint32_t>(0x40000000u + t * d + j);
            row[j] = seed.with_stream(s).uniform_at(i);
        }
        c.apply_row(row);
    }
    return false;
}

std::size_t redraw_forbidden(const Conditions& c, const Stream& seed, double* unit,
                             std::size_t n, std::size_t max_attempts, int workers) {
    if (c.forbidden.empty() || c.d == 0) return 0;
    std::atomic<std::size_t> left{0};
    parallel_for(n, workers, 4096, 1, [&](std::size_t a, std::size_t b) {
        std::size_t stuck = 0;
        for (std::size_t i = a; i < b; ++i) {
            stuck += redraw_row(c, seed, unit + i * c.d, i, max_attempts) ? 1 : 0;
        }
        left += stuck;
    });
    return left.load();
}

void restratify(const Conditions& c, double* unit, std::size_t n, bool centered,
                const std::vector<std::int64_t>& cells) {
    const std::size_t d = c.d;
    if (cells.size() != d) throw std::invalid_argument("`cells` must have one entry per parameter.");
    std::vector<std::size_t> rows;
    std::vector<std::size_t> rank;  // stratum of each active row (same order as rows)
    rows.reserve(n);
    rank.reserve(n);
    for (const std::size_t j : c.order) {
        const bool conditional = !c.when[j].empty();
        const std::int64_t k = cells[j];
        if (!conditional && k == 0) continue;  // an unconditional continuous column
        rows.clear();
        for (std::size_t i = 0; i < n; ++i) {
            double* row = unit + i * d;
            bool active = true;
            for (const Test& t : c.when[j]) {
                if (!t.holds(row[t.param])) {
                    active = false;
                    break;
                }
            }
            if (active) {
                rows.push_back(i);
            } else {
                row[j] = kNaN;
            }
        }
        const std::size_t m = rows.size();
        if (m == 0) continue;
        rank.assign(m, 0);
        if (conditional) {
            // Rank the active rows by their current value (a Latin column's values are
            // distinct; ties would go by row).
            std::vector<std::size_t> order(m);
            std::iota(order.begin(), order.end(), std::size_t{0});
            std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
                return unit[rows[x] * d + j] < unit[rows[y] * d + j];
            });
            for (std::size_t q = 0; q < m; ++q) {
                const std::size_t r = order[q];
                double& u = unit[rows[r] * d + j];
                double offset = 0.5;
                if (!centered) {
                    const double scaled = u * static_cast<double>(n);
                    offset = scaled - std::floor(scaled);
                }
                u = std::min((static_cast<double>(q) + offset) / static_cast<double>(m), 1.0);
                rank[r] = q;
            }
        } else {
            for (std::size_t r = 0; r < m; ++r) {
                const double scaled = std::floor(unit[rows[r] * d + j] * static_cast<double>(n));
                rank[r] = std::min(static_cast<std::size_t>(std::max(scaled, 0.0)), n - 1);
            }
        }
        if (k == 0) continue;
        const auto mm = static_cast<std::uint64_t>(m);
        const auto kk = static_cast<std::uint64_t>(k > 0 ? k : 0);
        const bool equal = k > 0 && 2 * mm * kk < (std::uint64_t{1} << 62);
        for (std::size_t r = 0; r < m; ++r) {
            double& u = unit[rows[r] * d + j];
            const auto p = static_cast<std::uint64_t>(rank[r]);
            if (equal) {
                const std::uint64_t cell = ((2 * p + 1) * kk) / (2 * mm);
                u = (static_cast<double>(cell) + 0.5) / static_cast<double>(kk);
            } else {
                u = (static_cast<double>(p) + 0.5) / static_cast<double>(m);
            }
        }
    }
}

}  // namespace hyperzoom
