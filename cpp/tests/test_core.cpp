// test_core.cpp: known answers and invariants of the pure C++ core, without Python.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "hyperzoom/conditions.hpp"
#include "hyperzoom/designs.hpp"
#include "hyperzoom/importance.hpp"
#include "hyperzoom/parallel.hpp"
#include "hyperzoom/random.hpp"
#include "hyperzoom/region.hpp"
#include "hyperzoom/scales.hpp"
#include "hyperzoom/schedule.hpp"

namespace hz = hyperzoom;

using hyperzoom::testing::failures;

// The statement throws exactly `Exception` (std::invalid_argument for bad values).
#define CHECK_THROWS(Exception, stmt)                                                   \
    do {                                                                                \
        bool thrown_ = false;                                                           \
        try {                                                                           \
            stmt;                                                                       \
        } catch (const Exception&) {                                                    \
            thrown_ = true;                                                             \
        } catch (...) {                                                                 \
        }                                                                               \
        if (!thrown_) {                                                                 \
            std::fprintf(stderr, "%s:%d: CHECK_THROWS failed: %s\n", __FILE__, __LINE__, #stmt); \
            ++failures;                                                                 \
        }                                                                               \
    } while (0)

namespace {

// A parent choice of 2 options (cells [0, .5), [.5, 1]), a child active on option 1, a
// grandchild active where the child lies in [0, .25), and a free column; forbidden:
// option 0 with the free column in [.5, 1].
hz::Conditions chain_conditions() {
    hz::Conditions c;
    c.d = 4;
    c.order = {0, 1, 2, 3};
    c.when.resize(4);
    c.when[1].push_back(hz::Test{0, {0.5}, {1.0}});
    c.when[2].push_back(hz::Test{1, {0.0}, {0.25}});
    c.forbidden.push_back({hz::Test{0, {0.0}, {0.5}}, hz::Test{3, {0.5}, {1.0}}});
    c.check();
    return c;
}

void test_conditions() {
    const hz::Conditions c = chain_conditions();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    double row[4] = {0.7, 0.1, 0.9, 0.2};
    c.apply_row(row);
    CHECK(row[0] == 0.7 && row[1] == 0.1 && row[2] == 0.9 && row[3] == 0.2);
    double off[4] = {0.2, 0.1, 0.9, 0.2};  // parent on option 0: child and grandchild go
    c.apply_row(off);
    CHECK(std::isnan(off[1]) && std::isnan(off[2]) && off[3] == 0.2);
    double forbidden[4] = {0.2, nan, nan, 0.8};
    CHECK(c.is_forbidden(forbidden));
    // Sampling: inactive exactly where the chain says, never forbidden, and the same
    // rows whatever the threads.
    const hz::Stream seed{5, 6, 7, 0};
    const std::size_t n = 5000;
    std::vector<hz::Column> cols(4);
    for (auto& col : cols) hz::prepare(col);  // linear on [0, 1]: values are the units
    std::vector<double> one(n * 4), two(n * 4), values(n * 4);
    std::vector<hz::ColumnData> out(4);
    for (std::size_t j = 0; j < 4; ++j) out[j].f = &values[j * n];
    const std::vector<std::uint8_t*> no_masks(4, nullptr);
    CHECK(hz::space_sample_conditional(cols, c, seed, n, one.data(), out, no_masks, 1000, 1) == 0);
    CHECK(hz::space_sample_conditional(cols, c, seed, n, two.data(), out, no_masks, 1000, 2) == 0);
    bool same = true, valid = true;
    for (std::size_t i = 0; i < n; ++i) {
        const double* r = &one[i * 4];
        for (std::size_t j = 0; j < 4; ++j) {
            const double a = one[i * 4 + j], b = two[i * 4 + j];
            same = same && ((std::isnan(a) && std::isnan(b)) || a == b);
        }
        const bool child = r[0] >= 0.5;
        valid = valid && (std::isnan(r[1]) != child) && !c.is_forbidden(r);
        valid = valid && (std::isnan(r[2]) == !(child && r[1] < 0.25));
    }
    CHECK(same);
    CHECK(valid);
    // A clause that forbids everything is reported, never a hang.
    hz::Conditions all = chain_conditions();
    all.forbidden = {{hz::Test{3, {0.0}, {1.0}}}};
    std::vector<double> u(10 * 4);
    CHECK(hz::space_sample_conditional(cols, all, seed, 10, u.data(), out, no_masks, 50, 1) == 10);
    // Restratify: the child's active rows hold each of their m strata once.
    std::vector<double> design(n * 4);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < 4; ++j)
            design[i * 4 + j] = (static_cast<double>((i * (2 * j + 7) + j) % n) + 0.5) / n;
    hz::restratify(c, design.data(), n, true, {2, 0, 0, 0});
    std::vector<int> seen;
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isnan(design[i * 4 + 1])) seen.push_back(static_cast<int>(i));
    const std::size_t m = seen.size();
    std::vector<int> strata(m, 0);
    for (const int i : seen) {
        const auto p = static_cast<std::size_t>(std::floor(design[static_cast<std::size_t>(i) * 4 + 1] * m));
        if (p < m) ++strata[p];
    }
    CHECK(m > 0 && std::all_of(strata.begin(), strata.end(), [](int k) { return k == 1; }));
    // Bad declarations: a child before its parent.
    hz::Conditions bad = chain_conditions();
    bad.order = {1, 0, 2, 3};
    CHECK_THROWS(std::invalid_argument, bad.check());
}

hz::Column column(hz::Kind kind, double lo, double hi, std::vector<double> cum = {}) {
    hz::Column c;
    c.kind = kind;
    c.lo = lo;
    c.hi = hi;
    c.cum = std::move(cum);
    hz::prepare(c);
    return c;
}

// Every strata of every column holds exactly one point.
bool is_latin(const std::vector<double>& u, std::size_t n, std::size_t d) {
    for (std::size_t j = 0; j < d; ++j) {
        std::vector<int> seen(n, 0);
        for (std::size_t i = 0; i < n; ++i) {
            const double x = u[i * d + j];
            if (!(x >= 0.0 && x < 1.0)) return false;
            const auto k = static_cast<std::size_t>(std::floor(x * static_cast<double>(n)));
            if (k >= n || seen[k]++) return false;
        }
    }
    return true;
}

void scales_edge_cases() {
    const double ends[2] = {0.0, 1.0};
    double out[2];
    std::int64_t iout[2];
    // Every continuous kind maps 0 to low and 1 to high exactly.
    for (const auto& c : {column(hz::Kind::linear, -3.0, 5.0), column(hz::Kind::log, 1e-300, 1e300),
                          column(hz::Kind::inv_log, -1e6, 0.999999), column(hz::Kind::linear, -1e307, 1e307)}) {
        hz::column_from_unit(c, ends, 1, 2, hz::ColumnData{out, nullptr});
        CHECK(out[0] == c.lo && out[1] == c.hi);
    }
    // Integer kinds: both ends, one-value ranges, and the largest allowed bounds.
    for (const auto& c : {column(hz::Kind::integer, 7, 7), column(hz::Kind::integer, -9007199254740991.0, 9007199254740991.0),
                          column(hz::Kind::int_log, 1, 1), column(hz::Kind::int_log, 35184372088831.0, 35184372088831.0),
                          column(hz::Kind::int_log, 1, 35184372088831.0), column(hz::Kind::power_of_two, 1, 4503599627370496.0)}) {
        hz::column_from_unit(c, ends, 1, 2, hz::ColumnData{nullptr, iout});
        const double lo = c.kind == hz::Kind::power_of_two ? c.lo : c.lo;
        CHECK(static_cast<double>(iout[0]) == lo && static_cast<double>(iout[1]) == c.hi);
        double u[2];
        hz::column_to_unit(c, hz::ColumnData{nullptr, iout}, 2, u, 1);
        CHECK(std::isfinite(u[0]) && std::isfinite(u[1]) && u[0] >= 0.0 && u[1] <= 1.0);
        std::int64_t back[2];
        hz::column_from_unit(c, u, 1, 2, hz::ColumnData{nullptr, back});
        CHECK(back[0] == iout[0] && back[1] == iout[1]);
    }
    // IntLogUniform round-trips every value near its largest allowed bound.
    const auto big = column(hz::Kind::int_log, 1, 35184372088831.0);
    std::vector<std::int64_t> v(2001), back(2001);
    std::vector<double> u(2001);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 35184372088831 - static_cast<std::int64_t>(i);
    hz::column_to_unit(big, hz::ColumnData{nullptr, v.data()}, v.size(), u.data(), 1);
    hz::column_from_unit(big, u.data(), 1, u.size(), hz::ColumnData{nullptr, back.data()});
    CHECK(back == v);
    // Categorical: weights give the cells; the ends are the first and last options.
    const auto cat = column(hz::Kind::categorical, 0, 3, {0.25, 0.5, 1.0});
    const double us[5] = {0.0, 0.2499, 0.25, 0.75, 1.0};
    std::int64_t codes[5];
    hz::column_from_unit(cat, us, 1, 5, hz::ColumnData{nullptr, codes});
    CHECK(codes[0] == 0 && codes[1] == 0 && codes[2] == 1 && codes[3] == 2 && codes[4] == 2);
    // n = 0 touches nothing.
    hz::column_from_unit(cat, nullptr, 1, 0, hz::ColumnData{nullptr, nullptr});
    // Bad parameters are refused with std::invalid_argument.
    CHECK_THROWS(std::invalid_argument, column(hz::Kind::linear, 1.0, 1.0));
    CHECK_THROWS(std::invalid_argument, column(hz::Kind::linear, -1e308, 1e308));
    CHECK_THROWS(std::invalid_argument, column(hz::Kind::linear, 0.0, NAN));
    CHECK_THROWS(std::invalid_argument, column(hz::Kind::log, 0.0, 1.0));
    CHECK_THROWS(std::invalid_argument, column(hz::Kind::inv_log, 0.5, 1.0));
    CHECK_THROWS(std::invalid_argument, column(hz::Kind::integer, 0.5, 3));
    CHECK_THROWS(std::invalid_argument, column(hz::Kind::integer, 0, 9007199254740992.0));
    CHECK_THROWS(std::invalid_argument, column(hz::Kind::int_log, 0, 3));
    CHECK_THROWS(std::invalid_argument, column(hz::Kind::int_log, 1, 35184372088832.0));
    CHECK_THROWS(std::invalid_argument, column(hz::Kind::power_of_two, 3, 8));
}

void designs_edge_cases() {
    const hz::Stream s{11, 22, 33, 0};
    for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{1000}}) {
        for (bool centered : {false, true}) {
            std::vector<double> u(n * 3);
            hz::latin_hypercube(s, n, 3, centered, u.data(), 2);
            CHECK(is_latin(u, n, 3));
            // The same seed gives the same design whatever the number of threads.
            std::vector<double> one(n * 3);
            hz::latin_hypercube(s, n, 3, centered, one.data(), 1);
            CHECK(one == u);
            // Extending n -> 2n gives a Latin union.
            std::vector<double> ext(n * 3);
            hz::extend_lhs(s, u.data(), n, 3, n, centered, ext.data(), 2);
            std::vector<double> both(u);
            both.insert(both.end(), ext.begin(), ext.end());
            CHECK(is_latin(both, 2 * n, 3));
        }
    }
    hz::latin_hypercube(s, 0, 3, false, nullptr, 4);  // n = 0 writes nothing
    hz::random_design(s, 0, 3, nullptr, 4);
    // The optimisers keep every column's values (a Latin design stays Latin), and
    // never end worse than they started.
    for (auto crit : {hz::Criterion::maximin, hz::Criterion::cd}) {
        for (std::size_t n : {std::size_t{2}, std::size_t{3}, std::size_t{40}}) {
            std::vector<double> u(n * 2);
            hz::latin_hypercube(s, n, 2, false, u.data(), 1);
            hz::OptimizeOptions opt;
            opt.criterion = crit;
            opt.iterations = 500;
            const auto rep = hz::optimize_design(s, u.data(), n, 2, opt, 2);
            CHECK(is_latin(u, n, 2));
            CHECK(rep.final <= rep.initial);
        }
    }
    // Known answers: the centred discrepancy of one centre point, a 3-4-5 distance.
    const double centre[2] = {0.5, 0.5};
    CHECK(std::abs(hz::discrepancy(centre, 1, 2, hz::Discrepancy::cd, 1) - 0.1736111111111111) < 1e-12);
    const double tri[6] = {0.0, 0.0, 0.3, 0.4, 1.0, 1.0};
    CHECK(std::abs(hz::min_distance(tri, 3, 2, 2) - 0.5) < 1e-15);
    // Grids: the last column varies fastest.
    const double l0[2] = {0.0, 1.0}, l1[3] = {0.0, 0.5, 1.0};
    const double* levels[2] = {l0, l1};
    const std::size_t counts[2] = {2, 3};
    std::vector<double> g(12);
    hz::grid_fill(levels, counts, 2, g.data(), 2);
    CHECK(g[0] == 0.0 && g[1] == 0.0 && g[3] == 0.5 && g[5] == 1.0 && g[6] == 1.0 && g[11] == 1.0);
}

void schedule_edge_cases() {
    // Hyperband's table for R = 81, eta = 3 (Li et al. 2018, Table 1).
    const auto hb = hz::hyperband_brackets(1, 81, 3);
    CHECK(hb.size() == 5 && hb[0].size() == 5 && hb[0][0].n == 81 && hb[0][4].budget == 81.0);
    CHECK(hb[1][0].n == 34 && hb[4][0].n == 5 && hb[4][0].budget == 81.0);
    CHECK(hz::max_halvings(1, 1, 2) == 0);
    // Plans too large for 64-bit counts are refused, never wrapped to negative counts.
    CHECK_THROWS(std::invalid_argument, hz::hyperband_brackets(1e-9, 1e9, 2));
    CHECK_THROWS(std::invalid_argument, hz::hyperband_brackets(1, 4611686018427387904.0, 2));
    CHECK_THROWS(std::invalid_argument, hz::max_halvings(0.0, 1, 2));
    CHECK_THROWS(std::invalid_argument, hz::max_halvings(1, NAN, 2));
    CHECK_THROWS(std::invalid_argument, hz::max_halvings(2, 1, 2));
    CHECK_THROWS(std::invalid_argument, hz::max_halvings(1, 9, 1));
    CHECK_THROWS(std::invalid_argument, hz::sh_rungs(0, 1, 9, 3));
    // Promotions: NaN never promoted, ties by id, k beyond n clipped.
    const double loss[5] = {2.0, NAN, 1.0, 1.0, NAN};
    const std::int64_t ids[5] = {10, 11, 12, 9, 13};
    std::int64_t top[5];
    CHECK(hz::promote_top(loss, ids, 5, 5, top) == 3);
    CHECK(top[0] == 3 && top[1] == 2 && top[2] == 0);
    CHECK(hz::promote_top(loss, ids, 5, 0, top) == 0);
    const double all_nan[2] = {NAN, NAN};
    CHECK(hz::promote_top(all_nan, ids, 2, 2, top) == 0);
}

void importance_edge_cases() {
    hz::Axes axes;
    axes.cells = {0, 0};
    axes.edges = {{}, {}};
    axes.prepare();
    const hz::Stream s{5, 6, 7, 0};
    std::vector<double> unit(2 * 200), y(200);
    hz::random_design(s, 200, 2, unit.data(), 1);
    for (std::size_t i = 0; i < 200; ++i) y[i] = unit[2 * i];  // only column 0 matters
    const auto out = hz::importance(axes, unit.data(), y.data(), 200, 8, 20, s, 2);
    CHECK(out.share[0] > 0.9 && out.share[1] < 0.1 && out.boot.size() == 40);
    for (double b : out.boot) CHECK(b >= 0.0 && b <= 1.0);
    const std::vector<double> same(200, 3.0);  // no variance: every share is 0
    const auto flat = hz::importance(axes, unit.data(), same.data(), 200, 8, 0, s, 1);
    CHECK(flat.share[0] == 0.0 && flat.share[1] == 0.0);
    CHECK_THROWS(std::invalid_argument, hz::importance(axes, unit.data(), y.data(), 1, 8, 0, s, 1));
    CHECK_THROWS(std::invalid_argument, hz::importance(axes, unit.data(), y.data(), 200, 0, 0, s, 1));
}

void region_edge_cases() {
    const double vals[4] = {NAN, NAN, NAN, NAN};
    std::int64_t out[4];
    CHECK(hz::select_elite(vals, 4, 2, out) == 0);
    const double two[2] = {5.0, -1.0};
    CHECK(hz::select_elite(two, 2, 10, out) == 2 && out[0] == 1 && out[1] == 0);
    CHECK(hz::select_elite(two, 2, 0, out) == 0);
}

void parallel_edge_cases() {
    int calls = 0;
    hz::parallel_for(0, 4, 1, 1, [&](std::size_t, std::size_t) { ++calls; });
    CHECK(calls == 0);
    std::vector<int> hit(1000, 0);
    hz::parallel_for(1000, 7, 1, 16, [&](std::size_t b, std::size_t e) {
        CHECK(b % 16 == 0);
        for (std::size_t i = b; i < e; ++i) ++hit[i];
    });
    CHECK(std::all_of(hit.begin(), hit.end(), [](int h) { return h == 1; }));
    // An exception in any range reaches the caller after every thread joined.
    CHECK_THROWS(std::invalid_argument,
                 hz::parallel_for(1000, 4, 1, 1, [](std::size_t b, std::size_t) {
                     if (b > 0) throw std::invalid_argument("range");
                 }));
}

}  // namespace

int main() {
    test_conditions();
    // Random123 kat_vectors, "philox4x32 10".
    const hz::Counter4 zero = hz::philox4x32_10({0, 0, 0, 0}, {0, 0});
    CHECK(zero[0] == 0x6627e8d5u && zero[1] == 0xe169c58du && zero[2] == 0xbc57ac4cu && zero[3] == 0x9b00dbd8u);
    const hz::Counter4 ones = hz::philox4x32_10({~0u, ~0u, ~0u, ~0u}, {~0u, ~0u});
    CHECK(ones[0] == 0x408f276du && ones[1] == 0x41c83b0eu && ones[2] == 0xa20bc7c6u && ones[3] == 0x6d5451fdu);
    const hz::Counter4 pi = hz::philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                                              {0xa4093822u, 0x299f31d0u});
    CHECK(pi[0] == 0xd16cfe09u && pi[1] == 0x94fdccebu && pi[2] == 0x5001e420u && pi[3] == 0x24126ea1u);

    // Bulk generation equals the per-index definition, on every SIMD path.
    const hz::Stream s{1, 2, 3, 4};
    const int best = hz::detected_simd_level();
    for (int level = 0; level <= best; ++level) {
        hz::set_simd_level(level);
        std::vector<std::uint64_t> w(1000);
        hz::fill_bits(s, 7, w.size(), w.data());
        for (std::size_t i = 0; i < w.size(); ++i) CHECK(w[i] == s.bits_at(7 + i));
        std::vector<double> u(1000);
        hz::fill_uniform(s, 3, u.size(), u.data());
        for (std::size_t i = 0; i < u.size(); ++i) CHECK(u[i] == s.uniform_at(3 + i) && u[i] >= 0.0 && u[i] < 1.0);
    }
    hz::set_simd_level(best);

    // Scales: bounds map exactly and integers round-trip.
    hz::Column lg;
    lg.kind = hz::Kind::log;
    lg.lo = 1e-4;
    lg.hi = 1.0;
    hz::prepare(lg);
    double ends[2] = {0.0, 1.0}, out[2];
    hz::column_from_unit(lg, ends, 1, 2, hz::ColumnData{out, nullptr});
    CHECK(out[0] == 1e-4 && out[1] == 1.0);
    hz::Column in;
    in.kind = hz::Kind::integer;
    in.lo = -3;
    in.hi = 9;
    hz::prepare(in);
    std::vector<std::int64_t> v(13), back(13);
    std::vector<double> uu(13);
    for (int i = 0; i < 13; ++i) v[static_cast<std::size_t>(i)] = i - 3;
    hz::column_to_unit(in, hz::ColumnData{nullptr, v.data()}, 13, uu.data(), 1);
    hz::column_from_unit(in, uu.data(), 1, 13, hz::ColumnData{nullptr, back.data()});
    CHECK(back == v);

    // Elite: the k smallest, NaN never chosen, ties by index.
    const double vals[6] = {3.0, NAN, 1.0, 2.0, 1.0, NAN};
    std::int64_t elite[3];
    CHECK(hz::select_elite(vals, 6, 3, elite) == 3);
    CHECK(elite[0] == 2 && elite[1] == 4 && elite[2] == 3);

    scales_edge_cases();
    designs_edge_cases();
    schedule_edge_cases();
    importance_edge_cases();
    region_edge_cases();
    parallel_edge_cases();

    if (failures) std::fprintf(stderr, "%d check(s) failed\n", failures);
    else std::printf("all C++ core checks passed\n");
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
