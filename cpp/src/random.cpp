// random.cpp: bulk Philox4x32-10 generation, scalar and SIMD (AVX2, AVX-512) chosen at
// run time. Every path computes the same blocks and stores them in the same order.
#include "hyperzoom/random.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HYPERZOOM_X86_DISPATCH 1
#include <immintrin.h>
#endif

namespace hyperzoom {
namespace {

int detect() noexcept {
#ifdef HYPERZOOM_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
#endif
    return 0;
}

std::atomic<int>& level_ref() noexcept {
    static std::atomic<int> level{detect()};
    return level;
}

struct RoundKeys {
    std::uint32_t k0[kPhiloxRounds];
    std::uint32_t k1[kPhiloxRounds];
    explicit RoundKeys(const Stream& s) noexcept {
        std::uint32_t a = s.key0;
        std::uint32_t b = s.key1;
        for (int r = 0; r < kPhiloxRounds; ++r) {
            k0[r] = a;
            k1[r] = b;
            a += kPhiloxW0;
            b += kPhiloxW1;
        }
    }
};

// One group (8 blocks, 16 words) starting at block b0 (a multiple of 8), scalar.
void group_scalar(const Stream& s, std::uint64_t b0, std::uint64_t* out) noexcept {
    for (std::uint64_t j = 0; j < Stream::kGroupBlocks; ++j) {
        const Counter4 c = s.block(b0 + j);
        out[j] = (std::uint64_t{c[1]} << 32) | c[0];
        out[j + 8] = (std::uint64_t{c[3]} << 32) | c[2];
    }
}

#ifdef HYPERZOOM_X86_DISPATCH
// Blocks side by side, one per 64-bit lane holding a 32-bit word. _mm*_mul_epu32 reads
// only the low halves, so the high halves may carry garbage until the final mask.
// Several independent lane sets run interleaved: one round's multiply-xor chain is
// ~8 cycles of latency, so a single set would leave the multipliers idle.
// With AsDouble the words are converted to doubles in [0, 1) in registers.
template <bool AsDouble>
__attribute__((target("avx2"))) void groups_avx2(const Stream& s, const RoundKeys& rk,
                                                  std::uint64_t b0, std::size_t groups,
                                                  void* out_ptr) noexcept {
    constexpr int kSets = 4;  // 4 sets x 4 lanes = 2 groups of 8 blocks
    const __m256i m0 = _mm256_set1_epi64x(kPhiloxM0);
    const __m256i m1 = _mm256_set1_epi64x(kPhiloxM1);
    const __m256i lo_mask = _mm256_set1_epi64x(0xFFFFFFFFLL);
    const __m256i exponent = _mm256_set1_epi64x(0x3FF0000000000000LL);
    const __m256d one = _mm256_set1_pd(1.0);
    auto* out = static_cast<std::uint64_t*>(out_ptr);
    std::size_t g = 0;
    for (; g < groups; g += 2) {
        const int sets = (groups - g) >= 2 ? kSets : 2;
        __m256i c0[kSets], c1[kSets], c2[kSets], c3[kSets];
        for (int k = 0; k < kSets; ++k) {
            // Set k holds blocks b + 4 (k % 2) + lane of group g + k / 2; a group's 8 blocks
            // share their high counter word because b is a multiple of 8.
            const std::uint64_t b = b0 + 8 * (g + static_cast<std::size_t>(k / 2));
            const auto base = static_cast<long long>(static_cast<std::uint32_t>(b) + 4u * static_cast<unsigned>(k % 2));
            c0[k] = _mm256_set_epi64x(base + 3, base + 2, base + 1, base);
            c1[k] = _mm256_set1_epi64x(static_cast<std::uint32_t>(b >> 32));
            c2[k] = _mm256_set1_epi64x(s.word2);
            c3[k] = _mm256_set1_epi64x(s.stream);
        }
        for (int r = 0; r < kPhiloxRounds; ++r) {
            const __m256i k0 = _mm256_set1_epi64x(rk.k0[r]);
            const __m256i k1 = _mm256_set1_epi64x(rk.k1[r]);
            for (int k = 0; k < kSets; ++k) {
                const __m256i p0 = _mm256_mul_epu32(c0[k], m0);
                const __m256i p1 = _mm256_mul_epu32(c2[k], m1);
                c0[k] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1[k]), k0);
                c1[k] = p1;
                c2[k] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3[k]), k1);
                c3[k] = p0;
            }
        }
        for (int k = 0; k < sets; ++k) {
            std::uint64_t* dst = out + 16 * (g + static_cast<std::size_t>(k / 2)) + 4 * static_cast<std::size_t>(k % 2);
            const __m256i w01 = _mm256_or_si256(_mm256_slli_epi64(c1[k], 32), _mm256_and_si256(c0[k], lo_mask));
            const __m256i w23 = _mm256_or_si256(_mm256_slli_epi64(c3[k], 32), _mm256_and_si256(c2[k], lo_mask));
            if constexpr (AsDouble) {
                const __m256i b01 = _mm256_or_si256(_mm256_srli_epi64(w01, 12), exponent);
                const __m256i b23 = _mm256_or_si256(_mm256_srli_epi64(w23, 12), exponent);
                _mm256_storeu_pd(reinterpret_cast<double*>(dst), _mm256_sub_pd(_mm256_castsi256_pd(b01), one));
                _mm256_storeu_pd(reinterpret_cast<double*>(dst + 8), _mm256_sub_pd(_mm256_castsi256_pd(b23), one));
            } else {
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), w01);
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8), w23);
            }
        }
    }
}

template <bool AsDouble>
__attribute__((target("avx512f"))) void groups_avx512(const Stream& s, const RoundKeys& rk,
                                                      std::uint64_t b0, std::size_t groups,
                                                      void* out_ptr) noexcept {
    constexpr int kSets = 4;  // 4 groups of 8 blocks in flight
    const __m512i m0 = _mm512_set1_epi64(kPhiloxM0);
    const __m512i m1 = _mm512_set1_epi64(kPhiloxM1);
    const __m512i lo_mask = _mm512_set1_epi64(0xFFFFFFFFLL);
    const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i exponent = _mm512_set1_epi64(0x3FF0000000000000LL);
    const __m512d one = _mm512_set1_pd(1.0);
    auto* out = static_cast<std::uint64_t*>(out_ptr);
    for (std::size_t g = 0; g < groups; g += kSets) {
        const int sets = static_cast<int>(std::min<std::size_t>(kSets, groups - g));
        __m512i c0[kSets], c1[kSets], c2[kSets], c3[kSets];
        for (int k = 0; k < kSets; ++k) {
            const std::uint64_t b = b0 + 8 * (g + static_cast<std::size_t>(k));
            c0[k] = _mm512_add_epi64(_mm512_set1_epi64(static_cast<std::uint32_t>(b)), lane);
            c1[k] = _mm512_set1_epi64(static_cast<std::uint32_t>(b >> 32));
            c2[k] = _mm512_set1_epi64(s.word2);
            c3[k] = _mm512_set1_epi64(s.stream);
        }
        for (int r = 0; r < kPhiloxRounds; ++r) {
            const __m512i k0 = _mm512_set1_epi64(rk.k0[r]);
            const __m512i k1 = _mm512_set1_epi64(rk.k1[r]);
            for (int k = 0; k < kSets; ++k) {
                const __m512i p0 = _mm512_mul_epu32(c0[k], m0);
                const __m512i p1 = _mm512_mul_epu32(c2[k], m1);
                c0[k] = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p1, 32), c1[k]), k0);
                c1[k] = p1;
                c2[k] = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p0, 32), c3[k]), k1);
                c3[k] = p0;
            }
        }
        for (int k = 0; k < sets; ++k) {
            std::uint64_t* dst = out + 16 * (g + static_cast<std::size_t>(k));
            const __m512i w01 = _mm512_or_si512(_mm512_slli_epi64(c1[k], 32), _mm512_and_si512(c0[k], lo_mask));
            const __m512i w23 = _mm512_or_si512(_mm512_slli_epi64(c3[k], 32), _mm512_and_si512(c2[k], lo_mask));
            if constexpr (AsDouble) {
                const __m512i b01 = _mm512_or_si512(_mm512_srli_epi64(w01, 12), exponent);
                const __m512i b23 = _mm512_or_si512(_mm512_srli_epi64(w23, 12), exponent);
                _mm512_storeu_pd(dst, _mm512_sub_pd(_mm512_castsi512_pd(b01), one));
                _mm512_storeu_pd(dst + 8, _mm512_sub_pd(_mm512_castsi512_pd(b23), one));
            } else {
                _mm512_storeu_si512(dst, w01);
                _mm512_storeu_si512(dst + 8, w23);
            }
        }
    }
}
#endif

template <bool AsDouble>
void groups(const Stream& s, const RoundKeys& rk, std::uint64_t b0, std::size_t count,
            void* out_ptr) noexcept {
#ifdef HYPERZOOM_X86_DISPATCH
    const int level = simd_level();
    if (level >= 2) return groups_avx512<AsDouble>(s, rk, b0, count, out_ptr);
    if (level == 1) return groups_avx2<AsDouble>(s, rk, b0, count, out_ptr);
#else
    (void)rk;
#endif
    std::uint64_t tmp[Stream::kGroupWords];
    for (std::size_t g = 0; g < count; ++g) {
        group_scalar(s, b0 + 8 * g, tmp);
        if constexpr (AsDouble) {
            double* out = static_cast<double*>(out_ptr) + 16 * g;
            for (std::size_t j = 0; j < Stream::kGroupWords; ++j) out[j] = bits_to_unit(tmp[j]);
        } else {
            std::copy(tmp, tmp + Stream::kGroupWords, static_cast<std::uint64_t*>(out_ptr) + 16 * g);
        }
    }
}

// Values first..first+n: a partial head group, whole groups, a partial tail group.
template <bool AsDouble, class T>
void fill(const Stream& s, std::uint64_t first, std::size_t n, T* out) {
    const RoundKeys rk(s);
    constexpr std::uint64_t W = Stream::kGroupWords;
    T tmp[W];
    std::uint64_t i = first;
    const std::uint64_t end = first + n;
    if (i % W != 0 && i < end) {
        const std::uint64_t g = i / W;
        groups<AsDouble>(s, rk, g * 8, 1, tmp);
        const std::uint64_t stop = std::min(end, (g + 1) * W);
        std::copy(tmp + (i - g * W), tmp + (stop - g * W), out);
        out += stop - i;
        i = stop;
    }
    const auto whole = static_cast<std::size_t>((end - i) / W);
    if (whole > 0) {
        groups<AsDouble>(s, rk, (i / W) * 8, whole, out);
        out += whole * W;
        i += whole * W;
    }
    if (i < end) {
        groups<AsDouble>(s, rk, (i / W) * 8, 1, tmp);
        std::copy(tmp, tmp + (end - i), out);
    }
}

}  // namespace

int detected_simd_level() noexcept {
    static const int level = detect();
    return level;
}

int simd_level() noexcept { return level_ref().load(std::memory_order_relaxed); }

void set_simd_level(int level) {
    if (level < 0 || level > detected_simd_level())
        throw std::invalid_argument("`level` must be in [0, " +
                                    std::to_string(detected_simd_level()) +
                                    "] on this CPU, but got " + std::to_string(level) + ".");
    level_ref().store(level, std::memory_order_relaxed);
}

void fill_bits(const Stream& s, std::uint64_t first, std::size_t n, std::uint64_t* out) {
    fill<false>(s, first, n, out);
}

void fill_uniform(const Stream& s, std::uint64_t first, std::size_t n, double* out) {
    fill<true>(s, first, n, out);
}

std::uint64_t bounded_at(const Stream& s, std::uint64_t bound, std::uint64_t* index) noexcept {
    // The first word, then its replacements, come from consecutive indices.
    const std::uint64_t w = s.bits_at((*index)++);
    return bounded_word(s, w, bound, index);
}

}  // namespace hyperzoom
