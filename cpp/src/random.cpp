// random.cpp: bulk Philox4x32-10 generation, scalar and SIMD (AVX2, AVX-512) chosen at
// run time. Every path computes the same blocks and stores them in the same order.
#include "hyperzoom/random.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>

#include "simd.hpp"

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
// avx2::groups_lanes and avx512::groups_lanes, from one source (simd.hpp).
#define HYPERZOOM_SIMD_KERNEL "random_simd.inc"
#include "simd_compile.inc"
#undef HYPERZOOM_SIMD_KERNEL
#endif

template <bool AsDouble>
void groups(const Stream& s, const RoundKeys& rk, std::uint64_t b0, std::size_t count,
            void* out_ptr) noexcept {
#ifdef HYPERZOOM_X86_DISPATCH
    const int level = simd_level();
    if (level >= 2) return avx512::groups_lanes<AsDouble>(s, rk, b0, count, out_ptr);
    if (level == 1) return avx2::groups_lanes<AsDouble>(s, rk, b0, count, out_ptr);
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
