// random.hpp: the counter-based generator (Philox4x32-10, Salmon et al. 2011) and
// the conversion of its bits to doubles. A value depends only on (seed, stream, index).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace hyperzoom {

// Philox4x32 constants from Random123 (philox.h).
inline constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u;
inline constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85u;
inline constexpr int kPhiloxRounds = 10;

using Counter4 = std::array<std::uint32_t, 4>;
using Key2 = std::array<std::uint32_t, 2>;

// One Philox4x32-10 block: the bijection of Random123's philox4x32_R(10, ctr, key).
inline Counter4 philox4x32_10(Counter4 c, Key2 k) noexcept {
    for (int r = 0; r < kPhiloxRounds; ++r) {
        if (r > 0) {
            k[0] += kPhiloxW0;
            k[1] += kPhiloxW1;
        }
        const std::uint64_t p0 = std::uint64_t{kPhiloxM0} * c[0];
        const std::uint64_t p1 = std::uint64_t{kPhiloxM1} * c[2];
        c = {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k[0],
             static_cast<std::uint32_t>(p1),
             static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k[1],
             static_cast<std::uint32_t>(p0)};
    }
    return c;
}

// The top 52 bits of a 64-bit word as a double in [0, 1): exact, branch-free and
// identical in the scalar and SIMD paths (the exponent-splice trick).
inline double bits_to_unit(std::uint64_t w) noexcept {
    const std::uint64_t b = (w >> 12) | 0x3FF0000000000000ULL;
    double d;
    std::memcpy(&d, &b, sizeof d);
    return d - 1.0;
}

// A stream of 64-bit words and doubles fixed by a 96-bit seed and a 32-bit stream id.
//
// Layout (documented because tests/reference.py reimplements it): word index i lives
// in group g = i / 16 of 8 consecutive Philox blocks; with r = i % 16 it is taken from
// block 8g + (r % 8), from that block's output words (0, 1) when r < 8 and (2, 3)
// otherwise, combined as hi << 32 | lo. The counter of block b is
// (b mod 2^32, b / 2^32, seed[2], stream) and the key is (seed[0], seed[1]). This
// order lets SIMD code compute 8 blocks side by side and store them without shuffles.
struct Stream {
    std::uint32_t key0 = 0;
    std::uint32_t key1 = 0;
    std::uint32_t word2 = 0;
    std::uint32_t stream = 0;

    static constexpr std::uint64_t kGroupBlocks = 8;
    static constexpr std::uint64_t kGroupWords = 16;

    [[nodiscard]] Counter4 block(std::uint64_t b) const noexcept {
        return philox4x32_10({static_cast<std::uint32_t>(b),
                              static_cast<std::uint32_t>(b >> 32), word2, stream},
                             {key0, key1});
    }

    // The i-th 64-bit word of the stream (computes one whole block: use fill_* for runs).
    [[nodiscard]] std::uint64_t bits_at(std::uint64_t i) const noexcept {
        const std::uint64_t g = i / kGroupWords;
        const std::uint64_t r = i % kGroupWords;
        const Counter4 c = block(g * kGroupBlocks + (r % kGroupBlocks));
        const std::size_t lo = r < kGroupBlocks ? 0 : 2;
        return (std::uint64_t{c[lo + 1]} << 32) | c[lo];
    }

    [[nodiscard]] double uniform_at(std::uint64_t i) const noexcept {
        return bits_to_unit(bits_at(i));
    }

    // A stream that differs from this one only in its stream id.
    [[nodiscard]] Stream with_stream(std::uint32_t s) const noexcept {
        return Stream{key0, key1, word2, s};
    }
};

// Fill out[0..n) with words first..first+n of the stream (SIMD where the CPU has it;
// results are identical on every path).
void fill_bits(const Stream& s, std::uint64_t first, std::size_t n, std::uint64_t* out);

// Fill out[0..n) with the doubles in [0, 1) of indices first..first+n.
void fill_uniform(const Stream& s, std::uint64_t first, std::size_t n, double* out);

namespace detail {
__extension__ typedef unsigned __int128 u128;
}  // namespace detail

// Lemire's unbiased integer in [0, bound) (bound >= 1) from the word w: the high word of
// w * bound, unless the low word falls in the few values that bias it; then more words
// are read from *extra on (a region of the stream no other draw uses).
inline std::uint64_t bounded_word(const Stream& s, std::uint64_t w, std::uint64_t bound,
                                  std::uint64_t* extra) noexcept {
    detail::u128 m = static_cast<detail::u128>(w) * bound;
    auto lo = static_cast<std::uint64_t>(m);
    if (lo < bound) {  // only then can lo be below the threshold (0 - bound) % bound
        const std::uint64_t t = (0 - bound) % bound;
        while (lo < t) {
            m = static_cast<detail::u128>(s.bits_at((*extra)++)) * bound;
            lo = static_cast<std::uint64_t>(m);
        }
    }
    return static_cast<std::uint64_t>(m >> 64);
}

// An unbiased integer in [0, bound) from the stream, consuming words from *index on
// (usually one word). bound must be >= 1.
std::uint64_t bounded_at(const Stream& s, std::uint64_t bound, std::uint64_t* index) noexcept;

// Which SIMD path the kernels take: 0 scalar, 1 AVX2, 2 AVX-512. The detected level is
// the default; tests lower it to check that every path gives the same bits.
int simd_level() noexcept;
int detected_simd_level() noexcept;
void set_simd_level(int level);

}  // namespace hyperzoom
