// designs.cpp: random and Latin hypercube designs, their extension and optimisation
// (exchange moves with O(n) criterion updates), grids and the O(n^2 d) metrics.
#include "hyperzoom/designs.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "hyperzoom/parallel.hpp"

#ifdef __linux__
#include <sys/mman.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HYPERZOOM_X86_DISPATCH 1
#endif

namespace hyperzoom {
namespace {


constexpr std::size_t kRows = 1024;  // rows per inner step of the row-parallel kernels

// Uninitialised scratch for large per-call buffers. On Linux, buffers of several MiB ask
// for transparent huge pages (as NumPy does for its arrays): first-touch page faults
// otherwise cost a tenth of a large Latin hypercube's time.
struct FreeDeleter {
    void operator()(void* p) const noexcept { std::free(p); }
};
template <class T>
std::unique_ptr<T[], FreeDeleter> scratch(std::size_t count) {
    const std::size_t bytes = std::max<std::size_t>(count * sizeof(T), 1);
    constexpr std::size_t kHuge = std::size_t{1} << 21;
    void* p = nullptr;
#ifdef __linux__
    if (bytes >= kHuge) {
        p = std::aligned_alloc(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
        if (p != nullptr) madvise(p, (bytes + kHuge - 1) / kHuge * kHuge, MADV_HUGEPAGE);
    }
#endif
    if (p == nullptr) p = std::malloc(bytes);
    if (p == nullptr) throw std::bad_alloc();
    return std::unique_ptr<T[], FreeDeleter>(static_cast<T*>(p));
}

void check_columns(std::size_t d) {
    if (d < 1 || d > kMaxDesignColumns)
        throw std::invalid_argument("`d` must be in [1, 2**24], but got " + std::to_string(d) + ".");
}

// The point of stratum k of n at offset u in [0, 1): (k + u) * (1/n), nudged by ulps where
// rounding would put it in a neighbouring stratum (or at 1.0). Afterwards
// floor(x * n) == k holds exactly in double arithmetic, as NumPy computes it.
inline double in_stratum(std::uint64_t k, double u, double dn, double inv_n) noexcept {
    double x = (static_cast<double>(k) + u) * inv_n;
    // x >= 0 and x * n < 2^53, so truncation is floor.
    while (x >= 1.0 || static_cast<std::uint64_t>(x * dn) > k) x = std::nextafter(x, 0.0);
    while (static_cast<std::uint64_t>(x * dn) < k) x = std::nextafter(x, 1.0);
    return x;
}

// The rare rejection path of bounded32, kept out of line so the hot loop stays lean.
[[gnu::noinline, gnu::cold]] std::uint32_t bounded32_slow(const Stream& s, std::uint64_t m,
                                                          std::uint32_t bound,
                                                          std::uint64_t* extra) noexcept {
    const std::uint32_t t = (0u - bound) % bound;
    while (static_cast<std::uint32_t>(m) < t)
        m = (s.bits_at((*extra)++) & 0xFFFFFFFFu) * std::uint64_t{bound};
    return static_cast<std::uint32_t>(m >> 32);
}

// Lemire's unbiased integer in [0, bound) from the 32-bit random r; in the rare biased
// case the low halves of the words from *extra on are used.
inline std::uint32_t bounded32(const Stream& s, std::uint32_t r, std::uint32_t bound,
                               std::uint64_t* extra) noexcept {
    const std::uint64_t m = std::uint64_t{r} * bound;
    if (static_cast<std::uint32_t>(m) < bound) return bounded32_slow(s, m, bound, extra);
    return static_cast<std::uint32_t>(m >> 32);
}

// A uniform permutation of 0..n-1 by Rao and Sandelius' method: element i goes to one of
// B buckets (the top bits of word i), each bucket is shuffled by Fisher-Yates (position q
// of the concatenation draws from the low 32 bits of word q, which are independent of
// every bucket choice; rare rejections read words from 4n on), and the buckets are
// concatenated. Buckets of 16384 to 32767 stay in L2 and the scatter has few streams,
// so this beats one Fisher-Yates walk over a large n; it is uniform for any B (B = 1,
// plain Fisher-Yates, below 32768).
void permutation(const Stream& s, std::size_t n, std::uint32_t* perm, std::uint32_t* low,
                 std::uint16_t* bucket) {
    if (n < 2) {
        if (n == 1) perm[0] = 0;
        return;
    }
    int bits = 0;
    while (bits < 10 && (std::size_t{16384} << (bits + 1)) <= n) ++bits;
    const std::size_t B = std::size_t{1} << bits;
    const int shift = 64 - bits;
    std::vector<std::uint32_t> start(B + 1, 0);
    // The words in L1-sized chunks: keep each one's low half (for Fisher-Yates) and its
    // bucket, and count the buckets, in one pass.
    std::uint64_t w[2048];
    for (std::size_t c = 0; c < n; c += 2048) {
        const std::size_t m = std::min<std::size_t>(2048, n - c);
        fill_bits(s, c, m, w);
        for (std::size_t i = 0; i < m; ++i) low[c + i] = static_cast<std::uint32_t>(w[i]);
        if (B > 1) {
            for (std::size_t i = 0; i < m; ++i) {
                const auto b = static_cast<std::uint16_t>(w[i] >> shift);
                bucket[c + i] = b;
                ++start[b + 1u];
            }
        }
    }
    if (B == 1) {
        for (std::size_t i = 0; i < n; ++i) perm[i] = static_cast<std::uint32_t>(i);
        start[1] = static_cast<std::uint32_t>(n);
    } else {
        for (std::size_t b = 0; b < B; ++b) start[b + 1] += start[b];
        std::vector<std::uint32_t> pos(start.begin(), start.end() - 1);
        std::uint32_t* pp = pos.data();
        for (std::size_t i = 0; i < n; ++i) perm[pp[bucket[i]]++] = static_cast<std::uint32_t>(i);
    }
    std::uint64_t extra = 4 * static_cast<std::uint64_t>(n);
    for (std::size_t b = 0; b < B; ++b) {
        std::uint32_t* p = perm + start[b];
        const std::uint32_t* r = low + start[b];
        const std::uint32_t c = start[b + 1] - start[b];
        for (std::uint32_t i = c; i-- > 1;) {
            const std::uint32_t j = bounded32(s, r[i], i + 1, &extra);
            std::swap(p[i], p[j]);
        }
    }
}

// Rows [b, e) of a design whose column j puts row i in stratum strata[j * len + i] of N,
// with offsets from uniforms first + i of stream_of(j) (or 0.5 when centred).
template <class StreamOf>
void place_rows(std::size_t b, std::size_t e, std::size_t d, std::uint64_t N, bool centered,
                std::uint64_t first, const std::uint32_t* strata, std::size_t len,
                StreamOf stream_of, double* out) {
    const double dn = static_cast<double>(N);
    const double inv_n = 1.0 / dn;
    double jit[kRows];
    double col[kRows];
    for (std::size_t s = b; s < e; s += kRows) {
        const std::size_t m = std::min(kRows, e - s);
        for (std::size_t j = 0; j < d; ++j) {
            const std::uint32_t* k = strata + j * len + s;
            if (centered) std::fill(jit, jit + m, 0.5);
            else fill_uniform(stream_of(j), first + s, m, jit);
            for (std::size_t r = 0; r < m; ++r) col[r] = (static_cast<double>(k[r]) + jit[r]) * inv_n;
            for (std::size_t r = 0; r < m; ++r) {
                double x = col[r];
                // Rounding rarely leaves the stratum; in_stratum() nudges such points back.
                if (x >= 1.0 || static_cast<std::uint64_t>(x * dn) != k[r])
                    x = in_stratum(k[r], jit[r], dn, inv_n);
                out[(s + r) * d + j] = x;
            }
        }
    }
}

// ---- elementwise kernels with SIMD clones --------------------------------------------
// Each kernel is one body compiled three times (default, AVX2, AVX-512) and chosen by
// simd_level(). The bodies are elementwise, or sum in four fixed lanes, and the build has
// no contraction (no FMA), so every clone gives the same bits.

#define HZ_ALWAYS_INLINE __attribute__((always_inline)) inline

// CD exchange: new P_{i1,t} and P_{i2,t} for every t (t = i1, i2 are fixed up after).
HZ_ALWAYS_INLINE void cd_rows_body(const double* __restrict__ xk, const double* __restrict__ zk, const double* __restrict__ p1,
                                   const double* __restrict__ p2, double a, double b, double za, double zb,
                                   std::size_t n, double* __restrict__ n1, double* __restrict__ n2) {
    for (std::size_t t = 0; t < n; ++t) {
        const double base = 1.0 + 0.5 * zk[t];
        const double fa = (base + 0.5 * za) - 0.5 * std::abs(a - xk[t]);
        const double fb = (base + 0.5 * zb) - 0.5 * std::abs(b - xk[t]);
        // One division for both ratios fb / fa and fa / fb.
        const double inv = 1.0 / (fa * fb);
        n1[t] = p1[t] * (fb * fb * inv);
        n2[t] = p2[t] * (fa * fa * inv);
    }
}

// (s / D)^25 by squaring; D is floored at 1e-12 s so that no term overflows.
HZ_ALWAYS_INLINE double phi_power(double r) {
    const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4, r16 = r8 * r8;
    return r16 * r8 * r;
}
HZ_ALWAYS_INLINE double phi_term(double scale, double dist2) {
    const double floor_ = 1e-12 * scale;
    return phi_power(scale / (dist2 > floor_ ? dist2 : floor_));
}

// Maximin exchange: old and new phi terms, and new squared distances, from i1 and i2 to
// every t. The four reciprocals share one division (divisions bound this loop).
HZ_ALWAYS_INLINE void phi_rows_body(const double* __restrict__ xk, const double* __restrict__ d1, const double* __restrict__ d2,
                                    double a, double b, double scale, std::size_t n,
                                    double* __restrict__ e1, double* __restrict__ e2, double* __restrict__ v1, double* __restrict__ v2,
                                    double* __restrict__ o1, double* __restrict__ o2) {
    const double floor_ = 1e-12 * scale;
    for (std::size_t t = 0; t < n; ++t) {
        const double da = a - xk[t], db = b - xk[t];
        const double dd = db * db - da * da;
        const double x1 = d1[t] + dd, x2 = d2[t] - dd;
        e1[t] = x1;
        e2[t] = x2;
        const double c1 = d1[t] > floor_ ? d1[t] : floor_;
        const double c2 = d2[t] > floor_ ? d2[t] : floor_;
        const double c3 = x1 > floor_ ? x1 : floor_;
        const double c4 = x2 > floor_ ? x2 : floor_;
        const double p = c1 * c2, q = c3 * c4;
        const double inv = scale / (p * q);
        o1[t] = phi_power(c2 * q * inv);
        o2[t] = phi_power(c1 * q * inv);
        v1[t] = phi_power(c4 * p * inv);
        v2[t] = phi_power(c3 * p * inv);
    }
}

// sum_t (n1 - p1) + (n2 - p2), in eight fixed lanes (one AVX-512 register).
HZ_ALWAYS_INLINE double change_sum_body(const double* __restrict__ n1, const double* __restrict__ p1, const double* __restrict__ n2,
                                        const double* __restrict__ p2, std::size_t n) {
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    std::size_t t = 0;
    for (; t + 8 <= n; t += 8)
        for (std::size_t l = 0; l < 8; ++l)
            acc[l] += (n1[t + l] - p1[t + l]) + (n2[t + l] - p2[t + l]);
    double tail = 0.0;
    for (; t < n; ++t) tail += (n1[t] - p1[t]) + (n2[t] - p2[t]);
    return (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))) +
           tail;
}

// Row i of the CD pair matrix: P_it = prod_k (1 + |z_ik|/2 + |z_tk|/2 - |x_ik - x_tk|/2).
HZ_ALWAYS_INLINE void cd_row_body(const double* __restrict__ xc, const double* __restrict__ zc,
                                  std::size_t n, std::size_t d, std::size_t i,
                                  double* __restrict__ out) {
    for (std::size_t t = 0; t < n; ++t) out[t] = 1.0;
    for (std::size_t k = 0; k < d; ++k) {
        const double* __restrict__ xk = xc + k * n;
        const double* __restrict__ zk = zc + k * n;
        const double xi = xk[i], zi = zk[i];
        for (std::size_t t = 0; t < n; ++t)
            out[t] *= 1.0 + 0.5 * zi + 0.5 * zk[t] - 0.5 * std::abs(xi - xk[t]);
    }
}

// Row i of the squared distances.
HZ_ALWAYS_INLINE void dist_row_body(const double* __restrict__ xc, std::size_t n, std::size_t d,
                                    std::size_t i, double* __restrict__ out) {
    for (std::size_t t = 0; t < n; ++t) out[t] = 0.0;
    for (std::size_t k = 0; k < d; ++k) {
        const double* __restrict__ xk = xc + k * n;
        const double xi = xk[i];
        for (std::size_t t = 0; t < n; ++t) {
            const double e = xi - xk[t];
            out[t] += e * e;
        }
    }
}

#ifdef HYPERZOOM_X86_DISPATCH
#define HZ_CLONES(name, ret, params, args)                                              \
    ret name##_default params { return name##_body args; }                             \
    __attribute__((target("avx2"))) ret name##_avx2 params { return name##_body args; } \
    __attribute__((target("avx512f"))) ret name##_avx512 params { return name##_body args; } \
    ret name params {                                                                  \
        const int level = simd_level();                                                \
        if (level >= 2) return name##_avx512 args;                                     \
        if (level == 1) return name##_avx2 args;                                       \
        return name##_default args;                                                    \
    }
#else
#define HZ_CLONES(name, ret, params, args) \
    ret name params { return name##_body args; }
#endif

HZ_CLONES(cd_rows, void,
          (const double* __restrict__ xk, const double* __restrict__ zk, const double* __restrict__ p1, const double* __restrict__ p2, double a,
           double b, double za, double zb, std::size_t n, double* __restrict__ n1, double* __restrict__ n2),
          (xk, zk, p1, p2, a, b, za, zb, n, n1, n2))
HZ_CLONES(phi_rows, void,
          (const double* __restrict__ xk, const double* __restrict__ d1, const double* __restrict__ d2, double a, double b,
           double scale, std::size_t n, double* __restrict__ e1, double* __restrict__ e2, double* __restrict__ v1, double* __restrict__ v2,
           double* __restrict__ o1, double* __restrict__ o2),
          (xk, d1, d2, a, b, scale, n, e1, e2, v1, v2, o1, o2))
HZ_CLONES(cd_row, void,
          (const double* xc, const double* zc, std::size_t n, std::size_t d, std::size_t i,
           double* out),
          (xc, zc, n, d, i, out))
HZ_CLONES(dist_row, void,
          (const double* xc, std::size_t n, std::size_t d, std::size_t i, double* out),
          (xc, n, d, i, out))
HZ_CLONES(change_sum, double,
          (const double* __restrict__ n1, const double* __restrict__ p1, const double* __restrict__ n2, const double* __restrict__ p2,
           std::size_t n),
          (n1, p1, n2, p2, n))

// ---- optimisation -------------------------------------------------------------------

struct Draws {
    Stream s;
    std::uint64_t index = 0;
    std::uint64_t below(std::uint64_t bound) noexcept { return bounded_at(s, bound, &index); }
};

// Column-major copy of a row-major design: column k is xc[k * n .. k * n + n).
std::vector<double> columns_of(const double* x, std::size_t n, std::size_t d) {
    std::vector<double> xc(n * d);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < d; ++k) xc[k * n + i] = x[i * d + k];
    return xc;
}

// Centred L2 discrepancy, CD^2 = (13/12)^d - 2/n sum_i Q_i + 1/n^2 sum_ij P_ij with
// P_ij = prod_k (1 + |z_ik|/2 + |z_jk|/2 - |x_ik - x_jk|/2), Q_i = prod_k (1 + |z_ik|/2
// - z_ik^2/2), z = x - 1/2 (Hickernell 1998). Exchanging x_{i1,k} and x_{i2,k} multiplies
// P_{i1,t} and P_{i2,t} by one factor ratio each (Jin, Chen & Sudjianto 2005): O(n).
class CdCriterion {
public:
    CdCriterion(const double* x, std::size_t n, std::size_t d, int workers)
        : n_(n), d_(d), xc_(columns_of(x, n, d)), zc_(xc_.size()), q_(n), new1_(n), new2_(n) {
        for (std::size_t i = 0; i < xc_.size(); ++i) zc_[i] = std::abs(xc_[i] - 0.5);
        for (std::size_t i = 0; i < n; ++i) {
            double q = 1.0;
            for (std::size_t k = 0; k < d; ++k) q *= g(zc_[k * n + i]);
            q_[i] = q;
        }
        matrix_ = n <= kMatrixMaxN;
        if (matrix_) {
            p_ = scratch<double>(n * n);  // huge pages: the column writes stride by n
            parallel_for(n, workers, std::max<std::size_t>(1, 4096 / (n * d + 1)), 1,
                         [&](std::size_t b, std::size_t e) {
                             for (std::size_t i = b; i < e; ++i) row(i, p_.get() + i * n);
                         });
        } else {
            row1_.resize(n);
            row2_.resize(n);
        }
        double sp = 0.0;
        std::vector<double> tmp(matrix_ ? 0 : n);
        for (std::size_t i = 0; i < n; ++i) {
            const double* r = matrix_ ? p_.get() + i * n : (row(i, tmp.data()), tmp.data());
            for (std::size_t t = 0; t < n; ++t) sp += r[t];
        }
        double sq = 0.0;
        for (double q : q_) sq += q;
        const double dn = static_cast<double>(n);
        value_ = std::pow(13.0 / 12.0, static_cast<double>(d)) - 2.0 / dn * sq + sp / (dn * dn);
    }

    [[nodiscard]] double value() const noexcept { return value_; }

    std::size_t pick_row(Draws& r) noexcept { return static_cast<std::size_t>(r.below(n_)); }

    double delta(std::size_t k, std::size_t i1, std::size_t i2) {
        const std::size_t n = n_;
        const double* xk = xc_.data() + k * n;
        const double* zk = zc_.data() + k * n;
        const double a = xk[i1], b = xk[i2];
        const double za = zk[i1], zb = zk[i2];
        if (matrix_) {
            r1_ = p_.get() + i1 * n;
            r2_ = p_.get() + i2 * n;
        } else {
            row(i1, row1_.data());
            row(i2, row2_.data());
            r1_ = row1_.data();
            r2_ = row2_.data();
        }
        const double* p1 = r1_;
        const double* p2 = r2_;
        double* n1 = new1_.data();
        double* n2 = new2_.data();
        cd_rows(xk, zk, p1, p2, a, b, za, zb, n, n1, n2);
        // The pair (i1, i2) keeps its factor; the diagonal terms change by (1 + |z|) ratios.
        n1[i2] = p1[i2];
        n2[i1] = p2[i1];
        n1[i1] = p1[i1] * (1.0 + zb) / (1.0 + za);
        n2[i2] = p2[i2] * (1.0 + za) / (1.0 + zb);
        // Over all t the change sum counts each off-diagonal pair once and the two
        // diagonal terms once; the full double sum counts off-diagonal pairs twice.
        const double all = change_sum(n1, p1, n2, p2, n);
        const double diag = (n1[i1] - p1[i1]) + (n2[i2] - p2[i2]);
        nq1_ = q_[i1] * g(zb) / g(za);
        nq2_ = q_[i2] * g(za) / g(zb);
        const double dq = (nq1_ - q_[i1]) + (nq2_ - q_[i2]);
        const double dn = static_cast<double>(n);
        return (2.0 * all - diag) / (dn * dn) - 2.0 / dn * dq;
    }

    // Applies the exchange last passed to delta().
    void apply(std::size_t k, std::size_t i1, std::size_t i2, double delta) {
        const std::size_t n = n_;
        if (matrix_) {
            std::copy(new1_.begin(), new1_.end(), p_.get() + i1 * n);
            std::copy(new2_.begin(), new2_.end(), p_.get() + i2 * n);
            for (std::size_t t = 0; t < n; ++t) {
                p_[t * n + i1] = new1_[t];
                p_[t * n + i2] = new2_[t];
            }
        }
        q_[i1] = nq1_;
        q_[i2] = nq2_;
        std::swap(xc_[k * n + i1], xc_[k * n + i2]);
        std::swap(zc_[k * n + i1], zc_[k * n + i2]);
        value_ += delta;
    }

private:
    static double g(double z) noexcept { return 1.0 + 0.5 * z - 0.5 * z * z; }

    void row(std::size_t i, double* out) const noexcept {
        cd_row(xc_.data(), zc_.data(), n_, d_, i, out);
    }

    std::size_t n_, d_;
    std::vector<double> xc_, zc_, q_, new1_, new2_, row1_, row2_;
    std::unique_ptr<double[], FreeDeleter> p_;
    const double* r1_ = nullptr;
    const double* r2_ = nullptr;
    double nq1_ = 0.0, nq2_ = 0.0, value_ = 0.0;
    bool matrix_ = false;
};

// Morris & Mitchell's phi_p with p = 50, as sum_{i<j} (s / d_ij^2)^25 with s the start
// design's smallest squared distance (the scale keeps the terms finite; the ordering of
// designs is phi_p's). Exchanging x_{i1,k} and x_{i2,k} changes only the distances from
// i1 and i2 to the others: O(n). Row sums point at the rows of the closest pairs.
class MaximinCriterion {
public:
    MaximinCriterion(const double* x, std::size_t n, std::size_t d, int workers)
        : n_(n), d_(d), xc_(columns_of(x, n, d)), rs_(n), nd1_(n), nd2_(n), nt1_(n), nt2_(n),
          ot1_(n), ot2_(n) {
        matrix_ = n <= kMatrixMaxN;
        std::vector<double> tmp(n);
        if (matrix_) {
            d2_ = scratch<double>(n * n);  // huge pages: the column writes stride by n
            parallel_for(n, workers, std::max<std::size_t>(1, 4096 / (n * d + 1)), 1,
                         [&](std::size_t b, std::size_t e) {
                             for (std::size_t i = b; i < e; ++i) dist_row(i, d2_.get() + i * n);
                         });
        } else {
            dr1_.resize(n);
            dr2_.resize(n);
        }
        // Row i of the squared distances: the stored one, or computed into tmp.
        const auto row = [&](std::size_t i) -> const double* {
            if (matrix_) return d2_.get() + i * n;
            dist_row(i, tmp.data());
            return tmp.data();
        };
        double smin = std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < n; ++i) {
            const double* r = row(i);
            for (std::size_t t = 0; t < n; ++t)
                if (t != i) smin = std::min(smin, r[t]);
        }
        scale_ = smin > 0.0 && std::isfinite(smin) ? smin : 1.0;
        double total = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double* r = row(i);
            double s = 0.0;
            for (std::size_t t = 0; t < n; ++t) s += t == i ? 0.0 : term(r[t]);
            rs_[i] = s;
            total += s;
        }
        value_ = 0.5 * total;
    }

    [[nodiscard]] double value() const noexcept { return value_; }

    // Half the time a row of the closest pairs (largest row sum), else any row.
    std::size_t pick_row(Draws& r) noexcept {
        if (r.below(2) == 0) {
            return static_cast<std::size_t>(std::max_element(rs_.begin(), rs_.end()) - rs_.begin());
        }
        return static_cast<std::size_t>(r.below(n_));
    }

    double delta(std::size_t k, std::size_t i1, std::size_t i2) {
        const std::size_t n = n_;
        const double* xk = xc_.data() + k * n;
        const double a = xk[i1], b = xk[i2];
        if (matrix_) {
            d1_ = d2_.get() + i1 * n;
            d2r_ = d2_.get() + i2 * n;
        } else {
            dist_row(i1, dr1_.data());
            dist_row(i2, dr2_.data());
            d1_ = dr1_.data();
            d2r_ = dr2_.data();
        }
        double* o1 = ot1_.data();
        double* o2 = ot2_.data();
        phi_rows(xk, d1_, d2r_, a, b, scale_, n, nd1_.data(), nd2_.data(), nt1_.data(),
                 nt2_.data(), o1, o2);
        // A point has no term with itself; the pair (i1, i2) keeps its distance.
        nd1_[i1] = 0.0;
        nt1_[i1] = o1[i1] = 0.0;
        nd2_[i2] = 0.0;
        nt2_[i2] = o2[i2] = 0.0;
        nd1_[i2] = d1_[i2];
        nt1_[i2] = o1[i2];
        nd2_[i1] = d2r_[i1];
        nt2_[i1] = o2[i1];
        return change_sum(nt1_.data(), o1, nt2_.data(), o2, n);
    }

    void apply(std::size_t k, std::size_t i1, std::size_t i2, double delta) {
        const std::size_t n = n_;
        double s1 = 0.0, s2 = 0.0;
        for (std::size_t t = 0; t < n; ++t) {
            if (t != i1 && t != i2) rs_[t] += (nt1_[t] - ot1_[t]) + (nt2_[t] - ot2_[t]);
            s1 += nt1_[t];
            s2 += nt2_[t];
        }
        rs_[i1] = s1;
        rs_[i2] = s2;
        if (matrix_) {
            std::copy(nd1_.begin(), nd1_.end(), d2_.get() + i1 * n);
            std::copy(nd2_.begin(), nd2_.end(), d2_.get() + i2 * n);
            for (std::size_t t = 0; t < n; ++t) {
                d2_[t * n + i1] = nd1_[t];
                d2_[t * n + i2] = nd2_[t];
            }
        }
        std::swap(xc_[k * n + i1], xc_[k * n + i2]);
        value_ += delta;
    }

private:
    [[nodiscard]] double term(double dist2) const noexcept { return phi_term(scale_, dist2); }

    void dist_row(std::size_t i, double* out) const noexcept {
        hyperzoom::dist_row(xc_.data(), n_, d_, i, out);
    }

    std::size_t n_, d_;
    std::vector<double> xc_, rs_, nd1_, nd2_, nt1_, nt2_, ot1_, ot2_, dr1_, dr2_;
    std::unique_ptr<double[], FreeDeleter> d2_;
    const double* d1_ = nullptr;
    const double* d2r_ = nullptr;
    double scale_ = 1.0, value_ = 0.0;
    bool matrix_ = false;
};

// Random exchanges (column k, rows i1 and i2; the criterion may steer i1), greedy by
// default: a move is taken when it lowers the criterion. With threshold > 0 it is taken
// too when it raises the criterion by less than a threshold that falls linearly to zero
// over the budget (threshold accepting); the best design met is returned. At n = 1000,
// d = 10 greedy did better than any threshold tried (bench/README.md), so Python uses 0.
template <class C>
OptimizeReport exchange(C& crit, const Stream& seed, double* x, std::size_t n, std::size_t d,
                        const OptimizeOptions& opt) {
    OptimizeReport rep;
    rep.initial = rep.final = crit.value();
    if (n < 2 || opt.iterations == 0) return rep;
    Draws draws{seed.with_stream(kStreamOptimize)};
    double best = crit.value();
    bool at_best = true;
    std::vector<double> best_x;
    const double t0 = opt.threshold * std::abs(best);
    std::uint64_t since_best = 0;
    const double iters = static_cast<double>(opt.iterations);
    for (std::uint64_t it = 0; it < opt.iterations; ++it) {
        const auto k = static_cast<std::size_t>(draws.below(d));
        const std::size_t i1 = crit.pick_row(draws);
        auto i2 = static_cast<std::size_t>(draws.below(n - 1));
        if (i2 >= i1) ++i2;
        ++rep.proposals;
        const double delta = crit.delta(k, i1, i2);
        const double limit = t0 * (1.0 - static_cast<double>(it) / iters);
        bool improved = false;
        if (delta < 0.0 || delta < limit) {
            if (at_best && !(crit.value() + delta < best)) best_x.assign(x, x + n * d);
            crit.apply(k, i1, i2, delta);
            std::swap(x[i1 * d + k], x[i2 * d + k]);
            ++rep.accepted;
            if (crit.value() < best) {
                best = crit.value();
                improved = true;
                at_best = true;
            } else {
                at_best = false;
            }
        }
        since_best = improved ? 0 : since_best + 1;
        if (opt.stall != 0 && since_best >= opt.stall) break;
    }
    if (!at_best) std::copy(best_x.begin(), best_x.end(), x);
    rep.final = best;
    return rep;
}

// ---- metrics ------------------------------------------------------------------------

// One factor of a pair's product for each discrepancy (scipy.stats.qmc's formulas);
// z = |x - 1/2|. For CD the inputs are halved, x/2 and z/2 (exact), which saves two
// multiplications: 1 + z_i/2 + z_j/2 - |x_i - x_j|/2.
template <int M>
inline double pair_factor(double xi, double zi, double xj, double zj) noexcept {
    const double a = std::abs(xi - xj);
    if constexpr (M == 0) return ((1.0 + zi) + zj) - a;
    if constexpr (M == 1) return 1.5 - a * (1.0 - a);
    if constexpr (M == 2) return 1.875 - 0.25 * zi - 0.25 * zj - 0.75 * a + 0.5 * a * a;
    return 1.0 - (xi > xj ? xi : xj);
}

// sum_{j > i} prod_k factor(i, j), with the products formed elementwise in `prod` (the
// loops vectorise) and summed in eight fixed lanes, so every clone gives the same bits.
template <int M>
HZ_ALWAYS_INLINE double upper_row_body(const double* __restrict__ xc,
                                       const double* __restrict__ zc, std::size_t n,
                                       std::size_t d, std::size_t i,
                                       double* __restrict__ prod) {
    const std::size_t len = n - i - 1;
    for (std::size_t j = 0; j < len; ++j) prod[j] = 1.0;
    std::size_t k = 0;
    // Two columns per pass halve the traffic through `prod`.
    for (; k + 2 <= d; k += 2) {
        const double* __restrict__ xk = xc + k * n + i + 1;
        const double* __restrict__ zk = zc + k * n + i + 1;
        const double* __restrict__ xl = xk + n;
        const double* __restrict__ zl = zk + n;
        const double xi = xc[k * n + i], zi = zc[k * n + i];
        const double xm = xc[k * n + n + i], zm = zc[k * n + n + i];
        for (std::size_t j = 0; j < len; ++j)
            prod[j] *= pair_factor<M>(xi, zi, xk[j], zk[j]) * pair_factor<M>(xm, zm, xl[j], zl[j]);
    }
    for (; k < d; ++k) {
        const double* __restrict__ xk = xc + k * n + i + 1;
        const double* __restrict__ zk = zc + k * n + i + 1;
        const double xi = xc[k * n + i], zi = zc[k * n + i];
        for (std::size_t j = 0; j < len; ++j) prod[j] *= pair_factor<M>(xi, zi, xk[j], zk[j]);
    }
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    std::size_t j = 0;
    for (; j + 8 <= len; j += 8)
        for (std::size_t l = 0; l < 8; ++l) acc[l] += prod[j + l];
    double tail = 0.0;
    for (; j < len; ++j) tail += prod[j];
    return (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))) +
           tail;
}

HZ_ALWAYS_INLINE double min_row_k_body(const double* __restrict__ xc, std::size_t n,
                                     std::size_t d, std::size_t i, double* __restrict__ dist) {
    const std::size_t len = n - i - 1;
    for (std::size_t j = 0; j < len; ++j) dist[j] = 0.0;
    for (std::size_t k = 0; k < d; ++k) {
        const double* __restrict__ xk = xc + k * n + i + 1;
        const double xi = xc[k * n + i];
        for (std::size_t j = 0; j < len; ++j) {
            const double e = xi - xk[j];
            dist[j] += e * e;
        }
    }
    double m = std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < len; ++j) m = dist[j] < m ? dist[j] : m;
    return m;
}

#define HZ_UPPER_PARAMS                                                                     \
    (const double* xc, const double* zc, std::size_t n, std::size_t d, std::size_t i,       \
     double* prod)
template <int M>
double upper_row_default HZ_UPPER_PARAMS { return upper_row_body<M>(xc, zc, n, d, i, prod); }
#ifdef HYPERZOOM_X86_DISPATCH
template <int M>
__attribute__((target("avx2"))) double upper_row_avx2 HZ_UPPER_PARAMS {
    return upper_row_body<M>(xc, zc, n, d, i, prod);
}
template <int M>
__attribute__((target("avx512f"))) double upper_row_avx512 HZ_UPPER_PARAMS {
    return upper_row_body<M>(xc, zc, n, d, i, prod);
}
#endif
template <int M>
double upper_row(const double* xc, const double* zc, std::size_t n, std::size_t d,
                 std::size_t i, double* prod, int level) {
#ifdef HYPERZOOM_X86_DISPATCH
    if (level >= 2) return upper_row_avx512<M>(xc, zc, n, d, i, prod);
    if (level == 1) return upper_row_avx2<M>(xc, zc, n, d, i, prod);
#else
    (void)level;
#endif
    return upper_row_default<M>(xc, zc, n, d, i, prod);
}

HZ_CLONES(min_row_k, double,
          (const double* xc, std::size_t n, std::size_t d, std::size_t i, double* dist),
          (xc, n, d, i, dist))

// Calls f(i, scratch) for every row, rows r and n-1-r together so that the triangular
// work is balanced across threads.
template <class F>
void folded_rows(std::size_t n, std::size_t d, int workers, F&& f) {
    const std::size_t tasks = (n + 1) / 2;
    const std::size_t grain = std::max<std::size_t>(1, (std::size_t{1} << 17) / (n * d + 1));
    parallel_for(tasks, workers, grain, 1, [&](std::size_t b, std::size_t e) {
        std::vector<double> scratch(n);
        for (std::size_t r = b; r < e; ++r) {
            f(r, scratch.data());
            if (n - 1 - r != r) f(n - 1 - r, scratch.data());
        }
    });
}

template <int M>
double discrepancy_impl(const double* x, std::size_t n, std::size_t d, int workers) {
    const std::vector<double> xc = columns_of(x, n, d);
    std::vector<double> zc(xc.size());
    for (std::size_t i = 0; i < xc.size(); ++i) zc[i] = std::abs(xc[i] - 0.5);
    std::vector<double> hx, hz;  // CD: halved copies for pair_factor<0>
    if constexpr (M == 0) {
        hx.resize(xc.size());
        hz.resize(xc.size());
        for (std::size_t i = 0; i < xc.size(); ++i) {
            hx[i] = 0.5 * xc[i];
            hz[i] = 0.5 * zc[i];
        }
    }
    const double* px = M == 0 ? hx.data() : xc.data();
    const double* pz = M == 0 ? hz.data() : zc.data();
    const int level = simd_level();
    std::vector<double> pair_sum(n), single(n);
    folded_rows(n, d, workers, [&](std::size_t i, double* scratch) {
        double diag = 1.0, one = 1.0;
        for (std::size_t k = 0; k < d; ++k) {
            const double xi = xc[k * n + i], zi = zc[k * n + i];
            diag *= pair_factor<M>(px[k * n + i], pz[k * n + i], px[k * n + i], pz[k * n + i]);
            if constexpr (M == 0) one *= 1.0 + 0.5 * zi - 0.5 * zi * zi;
            if constexpr (M == 2) one *= 5.0 / 3.0 - 0.25 * zi - 0.25 * zi * zi;
            if constexpr (M == 3) one *= 1.0 - xi * xi;
        }
        pair_sum[i] = diag + 2.0 * upper_row<M>(px, pz, n, d, i, scratch, level);
        single[i] = one;
    });
    double s2 = 0.0, s1 = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        s2 += pair_sum[i];
        s1 += single[i];
    }
    const double dn = static_cast<double>(n), dd = static_cast<double>(d);
    const double pairs = s2 / (dn * dn);
    if constexpr (M == 0) return std::pow(13.0 / 12.0, dd) - 2.0 / dn * s1 + pairs;
    if constexpr (M == 1) return -std::pow(4.0 / 3.0, dd) + pairs;
    if constexpr (M == 2) return std::pow(19.0 / 12.0, dd) - 2.0 / dn * s1 + pairs;
    return std::sqrt(std::pow(3.0, -dd) - std::pow(2.0, 1.0 - dd) / dn * s1 + pairs);
}

}  // namespace

void random_design(const Stream& seed, std::size_t n, std::size_t d, double* out, int workers) {
    check_columns(d);
    const Stream s = seed.with_stream(kStreamRandom);
    parallel_for(n * d, workers, 1 << 16, 16, [&](std::size_t b, std::size_t e) {
        fill_uniform(s, b, e - b, out + b);
    });
}

void latin_hypercube(const Stream& seed, std::size_t n, std::size_t d, bool centered,
                     double* out, int workers) {
    check_columns(d);
    if (n > 0xFFFFFFFFull)
        throw std::invalid_argument("`n` must be below 2**32, but got " + std::to_string(n) + ".");
    if (n == 0) return;
    auto stream_of = [&](std::size_t j) {
        return seed.with_stream(kStreamLhs + static_cast<std::uint32_t>(j));
    };
    // Uninitialised storage: every entry is written before it is read.
    auto perms = scratch<std::uint32_t>(n * d);
    // Phase 1: a permutation per column (columns in parallel: each is one sequential walk).
    parallel_for(d, workers, 1, 1, [&](std::size_t b, std::size_t e) {
        auto low = scratch<std::uint32_t>(n);
        auto bucket = scratch<std::uint16_t>(n);
        for (std::size_t j = b; j < e; ++j)
            permutation(stream_of(j), n, perms.get() + j * n, low.get(), bucket.get());
    });
    // Phase 2: rows in parallel; each value depends on its row and column only.
    const std::uint32_t* p = perms.get();
    parallel_for(n, workers, 1 << 14, 16, [&](std::size_t b, std::size_t e) {
        place_rows(b, e, d, n, centered, n, p, n, stream_of, out);
    });
}

void extend_lhs(const Stream& seed, const double* design, std::size_t n0, std::size_t d,
                std::size_t m, bool centered, double* out, int workers) {
    check_columns(d);
    const std::size_t N = n0 + m;
    if (N > 0xFFFFFFFFull)
        throw std::invalid_argument("`n + m` must be below 2**32, but got " + std::to_string(N) + ".");
    for (std::size_t i = 0; i < n0 * d; ++i)
        if (!(design[i] >= 0.0 && design[i] < 1.0))
            throw std::invalid_argument("`design` must lie in [0, 1), but got " +
                                        std::to_string(design[i]) + " at flat index " +
                                        std::to_string(i) + ".");
    if (m == 0) return;
    auto stream_of = [&](std::size_t j) {
        return seed.with_stream(kStreamExtend + static_cast<std::uint32_t>(j));
    };
    const double dn = static_cast<double>(N);
    std::vector<std::uint32_t> chosen(m * d);
    parallel_for(d, workers, 1, 1, [&](std::size_t b, std::size_t e) {
        std::vector<unsigned char> used(N);
        std::vector<std::uint32_t> free;
        std::vector<std::uint64_t> words(m);
        for (std::size_t j = b; j < e; ++j) {
            std::fill(used.begin(), used.end(), 0);
            for (std::size_t i = 0; i < n0; ++i) {
                auto s = static_cast<std::size_t>(design[i * d + j] * dn);
                used[std::min(s, N - 1)] = 1;
            }
            free.clear();
            for (std::size_t s = 0; s < N; ++s)
                if (!used[s]) free.push_back(static_cast<std::uint32_t>(s));
            // At least m strata are free (n0 points occupy at most n0 of N). A partial
            // Fisher-Yates picks m of them in random order, which also pairs the columns.
            const Stream s = stream_of(j);
            fill_bits(s, 0, m, words.data());
            std::uint64_t extra = 4 * static_cast<std::uint64_t>(m);
            const std::size_t F = free.size();
            for (std::size_t i = 0; i < m; ++i) {
                const auto r = i + static_cast<std::size_t>(bounded_word(s, words[i], F - i, &extra));
                std::swap(free[i], free[r]);
                chosen[j * m + i] = free[i];
            }
        }
    });
    const std::uint32_t* c = chosen.data();
    parallel_for(m, workers, 1 << 14, 16, [&](std::size_t b, std::size_t e) {
        place_rows(b, e, d, N, centered, m, c, m, stream_of, out);
    });
}

OptimizeReport optimize_design(const Stream& seed, double* design, std::size_t n,
                               std::size_t d, const OptimizeOptions& options, int workers) {
    check_columns(d);
    if (options.criterion == Criterion::cd) {
        CdCriterion c(design, n, d, workers);
        return exchange(c, seed, design, n, d, options);
    }
    if (options.criterion == Criterion::maximin) {
        MaximinCriterion c(design, n, d, workers);
        return exchange(c, seed, design, n, d, options);
    }
    throw std::invalid_argument("`criterion` must be maximin (1) or cd (2), but got " +
                                std::to_string(static_cast<int>(options.criterion)) + ".");
}

double discrepancy(const double* x, std::size_t n, std::size_t d, Discrepancy method,
                   int workers) {
    if (n == 0) throw std::invalid_argument("`sample` must hold at least one row.");
    switch (method) {
        case Discrepancy::cd: return discrepancy_impl<0>(x, n, d, workers);
        case Discrepancy::wd: return discrepancy_impl<1>(x, n, d, workers);
        case Discrepancy::md: return discrepancy_impl<2>(x, n, d, workers);
        case Discrepancy::l2_star: return discrepancy_impl<3>(x, n, d, workers);
    }
    throw std::invalid_argument("unknown discrepancy method " +
                                std::to_string(static_cast<int>(method)) + ".");
}

double min_distance(const double* x, std::size_t n, std::size_t d, int workers) {
    if (n < 2) throw std::invalid_argument("`sample` must hold at least two rows, but got " + std::to_string(n) + ".");
    const std::vector<double> xc = columns_of(x, n, d);
    std::vector<double> row_min(n, std::numeric_limits<double>::infinity());
    folded_rows(n, d, workers, [&](std::size_t i, double* scratch) {
        if (i + 1 < n) row_min[i] = min_row_k(xc.data(), n, d, i, scratch);
    });
    return std::sqrt(*std::min_element(row_min.begin(), row_min.end()));
}

void grid_fill(const double* const* levels, const std::size_t* counts, std::size_t d,
               double* out, int workers) {
    std::size_t total = 1;
    for (std::size_t j = 0; j < d; ++j) total *= counts[j];
    parallel_for(total, workers, 1 << 14, 1, [&](std::size_t b, std::size_t e) {
        std::vector<std::size_t> idx(d);
        for (std::size_t r = b; r < e; ++r) {
            std::size_t rest = r;
            for (std::size_t j = d; j-- > 0;) {
                idx[j] = rest % counts[j];
                rest /= counts[j];
            }
            for (std::size_t j = 0; j < d; ++j) out[r * d + j] = levels[j][idx[j]];
        }
    });
}

}  // namespace hyperzoom
