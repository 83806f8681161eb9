// fastmath.hpp: an exp() whose scalar and SIMD versions give the same bits, so results
// never depend on the CPU. Valid for |x| <= 700; accurate to about one ulp.
#pragma once

#include <cstdint>
#include <cstring>

namespace hyperzoom::detail {

inline constexpr double kExpLimit = 700.0;
inline constexpr double kLog2e = 1.4426950408889634074;
// Cody-Waite split of ln 2 (fdlibm): n * kLn2Hi is exact for |n| < 2^11.
inline constexpr double kLn2Hi = 6.93147180369123816490e-01;
inline constexpr double kLn2Lo = 1.90821492927058770002e-10;
// Adding 1.5 * 2^52 rounds to an integer and leaves it in the low mantissa bits.
inline constexpr double kShifter = 6755399441055744.0;
// Taylor coefficients 1/k!, k = 2..13: on |r| <= ln2/2 the truncation error is < 1e-17.
inline constexpr double kExpC[12] = {
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362880.0,
    1.0 / 3628800.0,
    1.0 / 39916800.0,
    1.0 / 479001600.0,
    1.0 / 6227020800.0,
};

// The scalar twin of the SIMD exp: same operations in the same order (the build turns
// off floating-point contraction, so no fused multiply-add changes a rounding).
inline double exp_kernel(double x) noexcept {
    const double t = x * kLog2e + kShifter;
    const double n = t - kShifter;
    const double r = (x - n * kLn2Hi) - n * kLn2Lo;
    double p = kExpC[11];
    for (int k = 10; k >= 0; --k) p = p * r + kExpC[k];
    p = p * r + 1.0;
    p = p * r + 1.0;
    std::int64_t tb;
    std::int64_t sb;
    std::memcpy(&tb, &t, sizeof tb);
    std::memcpy(&sb, &kShifter, sizeof sb);
    const std::int64_t e = ((tb - sb) + 1023) << 52;
    double scale;
    std::memcpy(&scale, &e, sizeof scale);
    return p * scale;
}

}  // namespace hyperzoom::detail
