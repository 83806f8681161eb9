// test_core.cpp: known answers and invariants of the pure C++ core, without Python.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "hyperzoom/random.hpp"
#include "hyperzoom/region.hpp"
#include "hyperzoom/scales.hpp"

namespace hz = hyperzoom;

static int failures = 0;
#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                          \
        }                                                                        \
    } while (0)

int main() {
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

    if (failures) std::fprintf(stderr, "%d check(s) failed\n", failures);
    else std::printf("all C++ core checks passed\n");
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
