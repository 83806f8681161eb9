// simd.hpp: the x86 vector operations the SIMD kernels are written in, one struct per
// instruction set, so that each kernel is written once and compiled for AVX2 and AVX-512.
//
// A kernel (scales_simd.inc, random_simd.inc) is plain code over V, and its source file
// compiles it once per instruction set through simd_compile.inc: each time in a namespace
// of its own (avx2, avx512) where V names that set's operations (simd::Avx2: 4 lanes of
// 64 bits; simd::Avx512: 8 lanes) and HYPERZOOM_SIMD_TARGET is its target attribute.
// Every operation is one intrinsic, and arithmetic on doubles is written with the
// operators the intrinsics are defined as, so each set performs the same operations in
// the same order, on 4 or 8 lanes. Private to cpp/src.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HYPERZOOM_X86_DISPATCH 1
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

// The operations whose AVX2 and AVX-512 intrinsics differ only in the width W (256 or
// 512 bits). TARGET is the set's target attribute.
#define HYPERZOOM_SIMD_OPS(W, TARGET)                                                      \
    using D = __m##W##d; /* doubles */                                                   \
    using I = __m##W##i; /* 64-bit integers */                                           \
    static constexpr std::size_t kLanes = (W) / 64;                                      \
    TARGET static D set1(double x) noexcept { return _mm##W##_set1_pd(x); }              \
    TARGET static D load(const double* p) noexcept { return _mm##W##_loadu_pd(p); }      \
    TARGET static void store(double* p, D v) noexcept { _mm##W##_storeu_pd(p, v); }      \
    TARGET static void store(std::uint64_t* p, I v) noexcept {                           \
        _mm##W##_storeu_si##W(reinterpret_cast<I*>(p), v);                               \
    }                                                                                    \
    TARGET static D min(D a, D b) noexcept { return _mm##W##_min_pd(a, b); }             \
    TARGET static D max(D a, D b) noexcept { return _mm##W##_max_pd(a, b); }             \
    TARGET static I bits(D v) noexcept { return _mm##W##_castpd_si##W(v); }              \
    TARGET static D from_bits(I v) noexcept { return _mm##W##_castsi##W##_pd(v); }       \
    TARGET static I add(I a, I b) noexcept { return _mm##W##_add_epi64(a, b); }          \
    TARGET static I sub(I a, I b) noexcept { return _mm##W##_sub_epi64(a, b); }          \
    /* The 64-bit products of the low 32 bits of each lane. */                           \
    TARGET static I mul_lo(I a, I b) noexcept { return _mm##W##_mul_epu32(a, b); }       \
    TARGET static I bit_and(I a, I b) noexcept { return _mm##W##_and_si##W(a, b); }      \
    TARGET static I bit_or(I a, I b) noexcept { return _mm##W##_or_si##W(a, b); }        \
    TARGET static I bit_xor(I a, I b) noexcept { return _mm##W##_xor_si##W(a, b); }      \
    template <int N>                                                                     \
    TARGET static I shl(I a) noexcept {                                                  \
        return _mm##W##_slli_epi64(a, N);                                                \
    }                                                                                    \
    template <int N>                                                                     \
    TARGET static I shr(I a) noexcept {                                                  \
        return _mm##W##_srli_epi64(a, N);                                                \
    }

#define HYPERZOOM_AVX2 __attribute__((target("avx2"), always_inline)) inline
#define HYPERZOOM_AVX512 __attribute__((target("avx512f"), always_inline)) inline

namespace hyperzoom::simd {

struct Avx2 {
    HYPERZOOM_SIMD_OPS(256, HYPERZOOM_AVX2)
    HYPERZOOM_AVX2 static I set1_i64(long long x) noexcept { return _mm256_set1_epi64x(x); }
    // The lanes base, base + 1, ..., base + 3.
    HYPERZOOM_AVX2 static I counter(std::uint32_t base) noexcept {
        const auto b = static_cast<long long>(base);
        return _mm256_set_epi64x(b + 3, b + 2, b + 1, b);
    }
    // Per lane: x == y ? a : b.
    HYPERZOOM_AVX2 static D select_equal(D x, D y, D a, D b) noexcept {
        return _mm256_blendv_pd(b, a, _mm256_cmp_pd(x, y, _CMP_EQ_OQ));
    }
};

struct Avx512 {
    HYPERZOOM_SIMD_OPS(512, HYPERZOOM_AVX512)
    HYPERZOOM_AVX512 static I set1_i64(long long x) noexcept { return _mm512_set1_epi64(x); }
    // The lanes base, base + 1, ..., base + 7.
    HYPERZOOM_AVX512 static I counter(std::uint32_t base) noexcept {
        return _mm512_add_epi64(_mm512_set1_epi64(base), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
    }
    // Per lane: x == y ? a : b.
    HYPERZOOM_AVX512 static D select_equal(D x, D y, D a, D b) noexcept {
        return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, y, _CMP_EQ_OQ), b, a);
    }
};

}  // namespace hyperzoom::simd

#undef HYPERZOOM_SIMD_OPS
#undef HYPERZOOM_AVX2
#undef HYPERZOOM_AVX512
#endif
