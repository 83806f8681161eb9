// scales.cpp: the unit <-> value kernels. Continuous kinds have SIMD paths (AVX2,
// AVX-512) that perform exactly the scalar operations, so every path gives the same bits.
#include "hyperzoom/scales.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "hyperzoom/conditions.hpp"
#include "hyperzoom/fastmath.hpp"
#include "hyperzoom/parallel.hpp"
#include "simd.hpp"

namespace hyperzoom {
namespace {

constexpr std::size_t kChunk = 512;  // values per inner step: a few KiB, stays in L1
constexpr double kMaxExactInt = 9007199254740992.0;  // 2^53
constexpr double kMaxIntLog = 35184372088832.0;     // 2^45: IntLogUniform's upper bound

std::string num(double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    return buf;
}

// ---- continuous kinds --------------------------------------------------------------

// The exp() families can use the fast kernel only while the argument stays in range;
// the choice depends on the bounds alone, never on the CPU.
bool exp_fast_ok(const Column& c) {
    return std::abs(c.a) <= detail::kExpLimit && std::abs(c.a + c.w) <= detail::kExpLimit;
}

inline double finish(double v, double u, double lo, double hi) noexcept {
    v = u == 0.0 ? lo : v;
    v = u == 1.0 ? hi : v;
    v = v < hi ? v : hi;
    v = v > lo ? v : lo;
    return v;
}

void continuous_scalar(const Column& c, const double* u, std::size_t n, double* out,
                       bool fast) noexcept {
    const double a = c.a, w = c.w, lo = c.lo, hi = c.hi;
    switch (c.kind) {
        case Kind::linear:
            for (std::size_t i = 0; i < n; ++i) out[i] = finish(a + u[i] * w, u[i], lo, hi);
            break;
        case Kind::log:
            for (std::size_t i = 0; i < n; ++i) {
                const double t = a + u[i] * w;
                out[i] = finish(fast ? detail::exp_kernel(t) : std::exp(t), u[i], lo, hi);
            }
            break;
        case Kind::inv_log:
            for (std::size_t i = 0; i < n; ++i) {
                const double t = a + u[i] * w;
                out[i] = finish(1.0 - (fast ? detail::exp_kernel(t) : std::exp(t)), u[i], lo, hi);
            }
            break;
        default:
            break;
    }
}

#ifdef HYPERZOOM_X86_DISPATCH
// avx2::continuous_lanes and avx512::continuous_lanes, from one source (simd.hpp).
#define HYPERZOOM_SIMD_KERNEL "scales_simd.inc"
#include "simd_compile.inc"
#undef HYPERZOOM_SIMD_KERNEL
#endif

void continuous(const Column& c, const double* u, std::size_t n, double* out) noexcept {
    const bool fast = c.kind == Kind::linear || exp_fast_ok(c);
#ifdef HYPERZOOM_X86_DISPATCH
    if (fast) {
        const int level = simd_level();
        if (level >= 2) return avx512::continuous_lanes(c, u, n, out);
        if (level == 1) return avx2::continuous_lanes(c, u, n, out);
    }
#endif
    continuous_scalar(c, u, n, out, fast);
}

// ---- integer kinds -----------------------------------------------------------------

// floor(u k) for u in [0, 1]: truncation equals floor on non-negative values, and avoids
// a libm call where the baseline ISA has no rounding instruction.
inline std::int64_t cell(double u, std::int64_t k) noexcept {
    const auto ji = static_cast<std::int64_t>(u * static_cast<double>(k));
    return ji < k - 1 ? ji : k - 1;
}

void integer_from_unit(const Column& c, const double* u, std::size_t n, std::int64_t* out) noexcept {
    switch (c.kind) {
        case Kind::integer:
            for (std::size_t i = 0; i < n; ++i) out[i] = c.ilo + cell(u[i], c.k);
            break;
        case Kind::int_log: {
            // t log-uniform on [lo, hi + 1) through the (SIMD) continuous kernel, then
            // floor(t) by truncation (t >= 1).
            Column axis;
            axis.kind = Kind::log;
            axis.lo = c.lo;
            axis.hi = c.hi + 1.0;
            axis.a = c.a;
            axis.w = c.w;
            const auto lo = c.ilo;
            const auto hi = static_cast<std::int64_t>(c.hi);
            double t[kChunk];
            for (std::size_t s = 0; s < n; s += kChunk) {
                const std::size_t m = std::min(kChunk, n - s);
                continuous(axis, u + s, m, t);
                for (std::size_t i = 0; i < m; ++i) {
                    auto v = static_cast<std::int64_t>(t[i]);
                    v = v < hi ? v : hi;
                    out[s + i] = v > lo ? v : lo;
                }
            }
            break;
        }
        case Kind::power_of_two:
            for (std::size_t i = 0; i < n; ++i) out[i] = std::int64_t{1} << (c.ilo + cell(u[i], c.k));
            break;
        case Kind::categorical:
            if (c.cum.empty()) {
                for (std::size_t i = 0; i < n; ++i) out[i] = cell(u[i], c.k);
            } else {
                const double* b = c.cum.data();
                const double* e = b + c.cum.size();
                for (std::size_t i = 0; i < n; ++i) {
                    const auto j = static_cast<std::int64_t>(std::upper_bound(b, e, u[i]) - b);
                    out[i] = j < c.k - 1 ? j : c.k - 1;
                }
            }
            break;
        default:
            break;
    }
}

inline double clamp01(double x) noexcept { return x <= 0.0 ? 0.0 : (x > 1.0 ? 1.0 : x); }  // -0 -> +0

void to_unit_contiguous(const Column& c, ColumnData in, std::size_t n, double* u) noexcept {
    const double k = static_cast<double>(c.k);
    switch (c.kind) {
        case Kind::linear:
            for (std::size_t i = 0; i < n; ++i) u[i] = clamp01((in.f[i] - c.lo) / c.w);
            break;
        case Kind::log:
            for (std::size_t i = 0; i < n; ++i) u[i] = clamp01((std::log(in.f[i]) - c.a) / c.w);
            break;
        case Kind::inv_log:
            for (std::size_t i = 0; i < n; ++i) u[i] = clamp01((std::log(1.0 - in.f[i]) - c.a) / c.w);
            break;
        case Kind::integer:
            for (std::size_t i = 0; i < n; ++i)
                u[i] = (static_cast<double>(in.i[i] - c.ilo) + 0.5) / k;
            break;
        case Kind::int_log:
            for (std::size_t i = 0; i < n; ++i) {
                const auto v = static_cast<double>(in.i[i]);
                u[i] = clamp01((0.5 * (std::log(v) + std::log(v + 1.0)) - c.a) / c.w);
            }
            break;
        case Kind::power_of_two:
            for (std::size_t i = 0; i < n; ++i) {
                const auto v = static_cast<std::uint64_t>(in.i[i]);
                const int e = 63 - __builtin_clzll(v);
                u[i] = (static_cast<double>(e - c.ilo) + 0.5) / k;
            }
            break;
        case Kind::categorical:
            for (std::size_t i = 0; i < n; ++i) {
                const auto j = static_cast<std::size_t>(in.i[i]);
                if (c.cum.empty()) {
                    u[i] = (static_cast<double>(j) + 0.5) / k;
                } else {
                    const double left = j == 0 ? 0.0 : c.cum[j - 1];
                    u[i] = 0.5 * (left + c.cum[j]);
                }
            }
            break;
    }
}

void from_unit_contiguous(const Column& c, const double* u, std::size_t n, ColumnData out) noexcept {
    if (c.is_integer()) integer_from_unit(c, u, n, out.i);
    else continuous(c, u, n, out.f);
}

ColumnData offset(ColumnData d, std::size_t k) noexcept {
    return {d.f ? d.f + k : nullptr, d.i ? d.i + k : nullptr};
}

}  // namespace

void prepare(Column& c) {
    const double lo = c.lo, hi = c.hi;
    if (!std::isfinite(lo) || !std::isfinite(hi))
        throw std::invalid_argument("bounds must be finite, but got (low=" + num(lo) +
                                    ", high=" + num(hi) + ").");
    switch (c.kind) {
        case Kind::linear:
            if (!(lo < hi)) throw std::invalid_argument("`low < high` must hold, but got (low=" + num(lo) + ", high=" + num(hi) + ").");
            c.a = lo;
            c.w = hi - lo;
            if (!std::isfinite(c.w)) throw std::invalid_argument("`high - low` must be finite, but got (low=" + num(lo) + ", high=" + num(hi) + ").");
            break;
        case Kind::log:
            if (!(0.0 < lo && lo < hi)) throw std::invalid_argument("`0 < low < high` must hold, but got (low=" + num(lo) + ", high=" + num(hi) + ").");
            c.a = std::log(lo);
            c.w = std::log(hi) - c.a;
            break;
        case Kind::inv_log:
            if (!(lo < hi && hi < 1.0)) throw std::invalid_argument("`low < high < 1` must hold, but got (low=" + num(lo) + ", high=" + num(hi) + ").");
            c.a = std::log(1.0 - lo);
            c.w = std::log(1.0 - hi) - c.a;
            break;
        case Kind::integer:
        case Kind::int_log:
        case Kind::power_of_two: {
            if (lo != std::floor(lo) || hi != std::floor(hi) || std::abs(lo) >= kMaxExactInt ||
                std::abs(hi) >= kMaxExactInt)
                throw std::invalid_argument("integer bounds must be whole numbers below 2**53, but got (low=" + num(lo) + ", high=" + num(hi) + ").");
            if (!(lo <= hi)) throw std::invalid_argument("`low <= high` must hold, but got (low=" + num(lo) + ", high=" + num(hi) + ").");
            c.ilo = static_cast<std::int64_t>(lo);
            if (c.kind == Kind::integer) {
                c.k = static_cast<std::int64_t>(hi) - c.ilo + 1;
                c.a = lo;
                c.w = static_cast<double>(c.k);
            } else if (c.kind == Kind::int_log) {
                if (!(lo >= 1.0)) throw std::invalid_argument("`1 <= low <= high` must hold, but got (low=" + num(lo) + ", high=" + num(hi) + ").");
                // Above ~2^47 neighbouring integers are closer on a log axis than a double
                // resolves: cells would collapse (w == 0 gives NaN) and values would not
                // round-trip. 2^45 keeps a factor-4 margin (tested up to 2^46).
                if (!(hi < kMaxIntLog))
                    throw std::invalid_argument("`high` must be below 2**45 for an IntLogUniform, but got " + num(hi) + ".");
                c.k = static_cast<std::int64_t>(hi) - c.ilo + 1;
                c.a = std::log(lo);
                c.w = std::log(hi + 1.0) - c.a;
            } else {
                const auto ulo = static_cast<std::uint64_t>(lo), uhi = static_cast<std::uint64_t>(hi);
                if (lo < 1.0 || (ulo & (ulo - 1)) != 0 || (uhi & (uhi - 1)) != 0)
                    throw std::invalid_argument("power-of-two bounds must be powers of two, but got (low=" + num(lo) + ", high=" + num(hi) + ").");
                const int elo = 63 - __builtin_clzll(ulo), ehi = 63 - __builtin_clzll(uhi);
                c.ilo = elo;
                c.k = ehi - elo + 1;
                c.a = elo;
                c.w = static_cast<double>(c.k);
            }
            break;
        }
        case Kind::categorical: {
            c.k = static_cast<std::int64_t>(hi);
            if (c.k < 1) throw std::invalid_argument("a categorical column needs at least one option, but got " + num(hi) + ".");
            if (!c.cum.empty()) {
                if (static_cast<std::int64_t>(c.cum.size()) != c.k)
                    throw std::invalid_argument("`cum` must have one entry per option.");
                for (std::size_t j = 0; j < c.cum.size(); ++j)
                    if (!(c.cum[j] >= (j ? c.cum[j - 1] : 0.0)) || !std::isfinite(c.cum[j]))
                        throw std::invalid_argument("`cum` must be finite and non-decreasing.");
                if (c.cum.back() != 1.0) throw std::invalid_argument("`cum` must end at 1.");
            }
            c.a = 0.0;
            c.w = static_cast<double>(c.k);
            break;
        }
        default:
            throw std::invalid_argument("unknown column kind " + std::to_string(static_cast<std::int64_t>(c.kind)) + ".");
    }
}

void column_from_unit(const Column& c, const double* u, std::size_t stride, std::size_t n,
                      ColumnData out) {
    if (stride == 1) return from_unit_contiguous(c, u, n, out);
    double buf[kChunk];
    for (std::size_t s = 0; s < n; s += kChunk) {
        const std::size_t m = std::min(kChunk, n - s);
        for (std::size_t r = 0; r < m; ++r) buf[r] = u[(s + r) * stride];
        from_unit_contiguous(c, buf, m, offset(out, s));
    }
}

void column_to_unit(const Column& c, ColumnData in, std::size_t n, double* u, std::size_t stride) {
    if (stride == 1) return to_unit_contiguous(c, in, n, u);
    double buf[kChunk];
    for (std::size_t s = 0; s < n; s += kChunk) {
        const std::size_t m = std::min(kChunk, n - s);
        to_unit_contiguous(c, offset(in, s), m, buf);
        for (std::size_t r = 0; r < m; ++r) u[(s + r) * stride] = buf[r];
    }
}

void space_from_unit(const std::vector<Column>& cols, const double* unit, std::size_t n,
                     const std::vector<ColumnData>& out, int workers) {
    const std::size_t d = cols.size();
    parallel_for(n, workers, 1 << 14, 16, [&](std::size_t b, std::size_t e) {
        for (std::size_t j = 0; j < d; ++j)
            column_from_unit(cols[j], unit + b * d + j, d, e - b, offset(out[j], b));
    });
}

namespace {

// Column j of rows [0, m) of a chunk (row-major, d wide) to values; NaN entries map to
// NaN (float columns) or 0 (integer columns).
void chunk_column(const Column& col, const double* rows, std::size_t d, std::size_t j,
                  std::size_t m, double* buf, ColumnData dst) noexcept {
    bool missing = false;
    for (std::size_t r = 0; r < m; ++r) {
        const double u = rows[r * d + j];
        missing = missing || u != u;
        buf[r] = u == u ? u : 0.0;
    }
    from_unit_contiguous(col, buf, m, dst);
    if (!missing) return;
    for (std::size_t r = 0; r < m; ++r) {
        const double u = rows[r * d + j];
        if (u == u) continue;
        if (dst.f != nullptr) {
            dst.f[r] = std::numeric_limits<double>::quiet_NaN();
        } else {
            dst.i[r] = 0;
        }
    }
}

}  // namespace

void space_from_unit_missing(const std::vector<Column>& cols, const double* unit,
                             std::size_t n, const std::vector<ColumnData>& out, int workers) {
    const std::size_t d = cols.size();
    parallel_for(n, workers, 1 << 14, 16, [&](std::size_t b, std::size_t e) {
        double buf[kChunk];
        for (std::size_t s = b; s < e; s += kChunk) {
            const std::size_t m = std::min(kChunk, e - s);
            for (std::size_t j = 0; j < d; ++j)
                chunk_column(cols[j], unit + s * d, d, j, m, buf, offset(out[j], s));
        }
    });
}

std::size_t space_sample_conditional(const std::vector<Column>& cols, const Conditions& c,
                                     const Stream& seed, std::size_t n, double* unit,
                                     const std::vector<ColumnData>& out,
                                     const std::vector<std::uint8_t*>& inactive,
                                     std::size_t max_attempts, int workers) {
    const std::size_t d = cols.size();
    std::atomic<std::size_t> stuck{0};
    parallel_for(n, workers, 1 << 12, 16, [&](std::size_t b, std::size_t e) {
        // A chunk is held column by column (d x kChunk): draws, conditions and maps all
        // run on contiguous columns; rows are gathered only to redraw a forbidden one.
        std::vector<double> cm(d * kChunk);
        std::vector<std::uint8_t> flag(kChunk);
        double buf[kChunk];
        std::vector<double> row(d);
        std::size_t left = 0;
        for (std::size_t s = b; s < e; s += kChunk) {
            const std::size_t m = std::min(kChunk, e - s);
            for (std::size_t j = 0; j < d; ++j)
                fill_uniform(seed.with_stream(static_cast<std::uint32_t>(j)), s, m, &cm[j * kChunk]);
            for (const std::size_t j : c.order) {
                double* col = &cm[j * kChunk];
                for (const Test& t : c.when[j]) {
                    const double* parent = &cm[t.param * kChunk];
                    if (t.lo.size() == 1) {
                        // One interval (the usual case): a branch-free loop the compiler
                        // vectorises; NaN (an inactive parent) fails both comparisons.
                        const double lo = t.lo[0], hi = t.hi[0];
                        const double top = hi >= 1.0 ? 2.0 : hi;  // [lo, 1] holds 1 too
                        for (std::size_t r = 0; r < m; ++r) {
                            const double u = parent[r];
                            const bool ok = u >= lo && (u < top);
                            col[r] = ok ? col[r] : std::numeric_limits<double>::quiet_NaN();
                        }
                        continue;
                    }
                    for (std::size_t r = 0; r < m; ++r)
                        if (!t.holds(parent[r])) col[r] = std::numeric_limits<double>::quiet_NaN();
                }
            }
            if (!c.forbidden.empty()) {
                for (const auto& clause : c.forbidden) {
                    std::fill(flag.begin(), flag.begin() + static_cast<std::ptrdiff_t>(m), 1);
                    for (const Test& t : clause) {
                        const double* col = &cm[t.param * kChunk];
                        for (std::size_t r = 0; r < m; ++r) flag[r] = static_cast<std::uint8_t>(flag[r] & (t.holds(col[r]) ? 1U : 0U));
                    }
                    for (std::size_t r = 0; r < m; ++r) {
                        if (!flag[r]) continue;
                        for (std::size_t j = 0; j < d; ++j) row[j] = cm[j * kChunk + r];
                        if (redraw_row(c, seed, row.data(), s + r, max_attempts)) ++left;
                        for (std::size_t j = 0; j < d; ++j) cm[j * kChunk + r] = row[j];
                    }
                }
            }
            for (std::size_t j = 0; j < d; ++j) {
                const double* col = &cm[j * kChunk];
                if (unit != nullptr) {
                    double* rows = unit + s * d;
                    for (std::size_t r = 0; r < m; ++r) rows[r * d + j] = col[r];
                }
                if (inactive[j] == nullptr) {  // never NaN: map the column as it is
                    from_unit_contiguous(cols[j], col, m, offset(out[j], s));
                    continue;
                }
                std::uint8_t* mask = inactive[j] + s;
                for (std::size_t r = 0; r < m; ++r) {
                    const bool gone = col[r] != col[r];
                    mask[r] = gone ? 1 : 0;
                    buf[r] = gone ? 0.0 : col[r];
                }
                const ColumnData dst = offset(out[j], s);
                from_unit_contiguous(cols[j], buf, m, dst);
                if (dst.f != nullptr) {
                    for (std::size_t r = 0; r < m; ++r)
                        dst.f[r] = mask[r] ? std::numeric_limits<double>::quiet_NaN() : dst.f[r];
                } else {
                    for (std::size_t r = 0; r < m; ++r) dst.i[r] = mask[r] ? 0 : dst.i[r];
                }
            }
        }
        stuck += left;
    });
    return stuck.load();
}

void space_to_unit(const std::vector<Column>& cols, const std::vector<ColumnData>& in,
                   std::size_t n, double* unit, int workers) {
    const std::size_t d = cols.size();
    parallel_for(n, workers, 1 << 14, 16, [&](std::size_t b, std::size_t e) {
        for (std::size_t j = 0; j < d; ++j)
            column_to_unit(cols[j], offset(in[j], b), e - b, unit + b * d + j, d);
    });
}

void space_sample(const std::vector<Column>& cols, const Stream& seed, std::size_t n,
                  double* unit, const std::vector<ColumnData>& out, int workers) {
    const std::size_t d = cols.size();
    parallel_for(n, workers, 1 << 14, 16, [&](std::size_t b, std::size_t e) {
        double buf[kChunk];
        for (std::size_t s = b; s < e; s += kChunk) {
            const std::size_t m = std::min(kChunk, e - s);
            for (std::size_t j = 0; j < d; ++j) {
                fill_uniform(seed.with_stream(static_cast<std::uint32_t>(j)), s, m, buf);
                from_unit_contiguous(cols[j], buf, m, offset(out[j], s));
                if (unit != nullptr) {
                    double* dst = unit + s * d + j;
                    for (std::size_t r = 0; r < m; ++r) dst[r * d] = buf[r];
                }
            }
        }
    });
}

void space_sample_unit(std::size_t d, const Stream& seed, std::size_t n, double* unit,
                       int workers) {
    parallel_for(n, workers, 1 << 14, 16, [&](std::size_t b, std::size_t e) {
        double buf[kChunk];
        for (std::size_t s = b; s < e; s += kChunk) {
            const std::size_t m = std::min(kChunk, e - s);
            for (std::size_t j = 0; j < d; ++j) {
                fill_uniform(seed.with_stream(static_cast<std::uint32_t>(j)), s, m, buf);
                double* dst = unit + s * d + j;
                for (std::size_t r = 0; r < m; ++r) dst[r * d] = buf[r];
            }
        }
    });
}

}  // namespace hyperzoom
