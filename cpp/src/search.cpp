// search.cpp: the coarse-to-fine state machine (see search.hpp for the schedule and the
// region's geometry). Everything here is deterministic: no RNG, no threads, no globals.
#include "hyperzoom/search.hpp"

#include "hyperzoom/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace hyperzoom {

namespace {

constexpr double kSqrt3 = 1.7320508075688772;
// A region narrower than this on every unit axis has reached the resolution of a double
// near 1 (a few hundred ulps): nothing finer can be told apart, so the run has converged.
constexpr double kTolWidth = 1e-13;
// Largest ratio of the region's longest to its shortest axis before a run restarts.
constexpr double kMaxAxisRatio = 1e7;
// Choices: the share every option keeps (divided by the number of options), and how far
// each zoomed round moves the shares towards the options its best points use.
constexpr double kChoiceFloor = 0.2;
constexpr double kChoiceRate = 0.3;

struct Weights {
    std::vector<double> w;
    double mueff = 1.0;
};

// CMA-ES's positive recombination weights for the best mu of a round.
Weights weights_for(std::size_t mu) {
    Weights r;
    r.w.resize(mu);
    double sum = 0.0;
    for (std::size_t i = 0; i < mu; ++i) {
        r.w[i] = std::log(static_cast<double>(mu) + 0.5) - std::log(static_cast<double>(i) + 1.0);
        sum += r.w[i];
    }
    double sq = 0.0;
    for (double& x : r.w) {
        x /= sum;
        sq += x * x;
    }
    r.mueff = 1.0 / sq;
    return r;
}

// How much longer the weighted mean of mu randomly selected points of z (n rows of p
// unit-variance draws; only rows with a finite value can be selected) is than it is for a
// round's stratified draws: the square root of the ratio of the expected squared lengths.
// For m selectable rows with sum S and sum of squares Q, weights summing to 1 with sum of
// squares sw2, selection without replacement gives
//   E |sum_e w_e z_(e)|^2 = sw2 Q / m + (1 - sw2) (|S|^2 - Q) / (m (m - 1)),
// and a Latin hypercube round (S = 0, Q = m p) gives p (m sw2 - 1) / (m - 1).
double selection_spread_ratio(const double* z, const double* values, std::size_t n,
                              std::size_t p, double sw2) {
    std::vector<double> sum(p, 0.0);
    double q = 0.0, m = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(values[i])) continue;
        m += 1.0;
        for (std::size_t a = 0; a < p; ++a) {
            sum[a] += z[i * p + a];
            q += z[i * p + a] * z[i * p + a];
        }
    }
    if (m < 2.0) return 1.0;
    double s2 = 0.0;
    for (double x : sum) s2 += x * x;
    const double actual = sw2 * q / m + (1.0 - sw2) * (s2 - q) / (m * (m - 1.0));
    const double round = static_cast<double>(p) * (m * sw2 - 1.0) / (m - 1.0);
    if (!(actual > 0.0) || !(round > 0.0)) return 1.0;
    return std::sqrt(actual / round);
}

// Mirror x into [0, 1]: a region that reaches past the edge of the space folds back.
double reflect(double x) {
    if (x >= 0.0 && x <= 1.0) return x;
    double t = std::fmod(std::fabs(x), 2.0);
    return t <= 1.0 ? t : 2.0 - t;
}

}  // namespace

void eigen_symmetric(std::vector<double>& a, std::size_t p, std::vector<double>& w,
                     std::vector<double>& v) {
    v.assign(p * p, 0.0);
    for (std::size_t i = 0; i < p; ++i) v[i * p + i] = 1.0;
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0.0, diag = 0.0;
        for (std::size_t i = 0; i < p; ++i) {
            diag += a[i * p + i] * a[i * p + i];
            for (std::size_t j = i + 1; j < p; ++j) off += a[i * p + j] * a[i * p + j];
        }
        if (off <= 1e-30 * diag || off == 0.0) break;
        for (std::size_t i = 0; i + 1 < p; ++i) {
            for (std::size_t j = i + 1; j < p; ++j) {
                const double aij = a[i * p + j];
                if (aij == 0.0) continue;
                // The rotation that zeroes a[i][j] (Rutishauser's stable form).
                const double theta = (a[j * p + j] - a[i * p + i]) / (2.0 * aij);
                const double t = (theta >= 0.0 ? 1.0 : -1.0) /
                                 (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
                const double c = 1.0 / std::sqrt(t * t + 1.0);
                const double s = t * c;
                for (std::size_t k = 0; k < p; ++k) {
                    const double aki = a[k * p + i], akj = a[k * p + j];
                    a[k * p + i] = c * aki - s * akj;
                    a[k * p + j] = s * aki + c * akj;
                }
                for (std::size_t k = 0; k < p; ++k) {
                    const double aik = a[i * p + k], ajk = a[j * p + k];
                    a[i * p + k] = c * aik - s * ajk;
                    a[j * p + k] = s * aik + c * ajk;
                }
                for (std::size_t k = 0; k < p; ++k) {
                    const double vki = v[k * p + i], vkj = v[k * p + j];
                    v[k * p + i] = c * vki - s * vkj;
                    v[k * p + j] = s * vki + c * vkj;
                }
            }
        }
    }
    // Ascending eigenvalues, ties by index: the order depends on the matrix alone.
    std::vector<std::size_t> order(p);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t x, std::size_t y) { return a[x * p + x] < a[y * p + y]; });
    w.resize(p);
    std::vector<double> sorted(p * p);
    for (std::size_t c = 0; c < p; ++c) {
        w[c] = a[order[c] * p + order[c]];
        for (std::size_t r = 0; r < p; ++r) sorted[r * p + c] = v[r * p + order[c]];
    }
    v.swap(sorted);
}

Zoom::Zoom(Axes axes, const ZoomParams& params) : axes_(std::move(axes)), params_(params) {
    axes_.prepare();
    if (!(params_.keep > 0.0 && params_.keep <= 1.0))
        throw std::invalid_argument("`keep` must be in (0, 1].");
    if (!(params_.min_width >= 0.0 && params_.min_width <= 1.0))
        throw std::invalid_argument("`min_width` must be in [0, 1].");
    if (params_.max_doublings > 30) throw std::invalid_argument("`max_doublings` must be <= 30.");
    const std::size_t d = axes_.d();
    for (std::size_t j = 0; j < d; ++j) (axes_.cells[j] >= 0 ? ordered_ : categorical_).push_back(j);
    p_ = ordered_.size();
    if (params_.round_size == 0) {
        const double p = static_cast<double>(std::max<std::size_t>(p_, 1));
        params_.round_size = 4 + static_cast<std::size_t>(std::floor(3.0 * std::log(p)));
    }
    if (params_.first_round == 0) params_.first_round = std::max<std::size_t>(10, 2 * d + 4);
    if (params_.round_size < 2) throw std::invalid_argument("`round_size` must be >= 2.");
    start_run();
}

std::size_t Zoom::round_size() const noexcept {
    const std::size_t k = std::min(run_, params_.max_doublings);
    return (coarse_ ? params_.first_round : params_.round_size) << k;
}

void Zoom::start_run() {
    coarse_ = true;
    zoomed_ = 0;
    have_best_ = false;
    since_better_ = 0;
    history_.clear();
    allowed_.assign(axes_.mask_size, 1);
    q_.assign(axes_.mask_size, 0.0);
    for (std::size_t j : categorical_) {
        const auto& e = axes_.edges[j];
        for (std::size_t c = 0; c + 1 < e.size(); ++c) q_[axes_.mask_offset[j] + c] = e[c + 1] - e[c];
    }
    m_.assign(p_, 0.5);
    c_.assign(p_ * p_, 0.0);
    b_.assign(p_ * p_, 0.0);
    dd_.assign(p_, 0.5 / kSqrt3);
    for (std::size_t a = 0; a < p_; ++a) {
        b_[a * p_ + a] = 1.0;
        c_[a * p_ + a] = dd_[a] * dd_[a];
    }
    ps_.assign(p_, 0.0);
    pc_.assign(p_, 0.0);
    sigma_ = 1.0;
    since_eigen_ = 0;
}

void Zoom::sample(const double* v, double* u, int workers) {
    const std::size_t n = round_size(), d = axes_.d();
    if (coarse_) {
        // The whole space: the design is the round.
        std::copy(v, v + n * d, u);
        u_.assign(v, v + n * d);
        raw_.assign(n * p_, 0.0);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t a = 0; a < p_; ++a) raw_[i * p_ + a] = v[i * d + ordered_[a]];
        return;
    }
    // Choice axes: each option gets its learnt share of the design's stratum [0, 1), and
    // the point lands at the same relative place inside the option's own cell.
    for (std::size_t j : categorical_) {
        const auto& e = axes_.edges[j];
        const std::size_t off = axes_.mask_offset[j], k = e.size() - 1;
        for (std::size_t i = 0; i < n; ++i) {
            const double t = v[i * d + j];
            double before = 0.0;
            std::size_t c = 0;
            while (c + 1 < k && t >= before + q_[off + c]) before += q_[off + c++];
            const double frac = std::min(std::max((t - before) / q_[off + c], 0.0), 1.0);
            const double width = e[c + 1] - e[c];
            const double eps = 1e-9 * width;
            u[i * d + j] = std::min(std::max(e[c] + frac * width, e[c] + eps), e[c + 1] - eps);
        }
    }
    z_.assign(n * p_, 0.0);
    raw_.assign(n * p_, 0.0);
    // Rows are independent: any split over threads gives the same bits.
    parallel_for(n, workers, 1 << 12, 1, [&](std::size_t lo, std::size_t hi) {
        std::vector<double> dz(p_);
        for (std::size_t i = lo; i < hi; ++i) {
            double* z = z_.data() + i * p_;
            for (std::size_t a = 0; a < p_; ++a) {
                z[a] = kSqrt3 * (2.0 * v[i * d + ordered_[a]] - 1.0);
                dz[a] = dd_[a] * z[a];
            }
            for (std::size_t a = 0; a < p_; ++a) {
                double y = 0.0;
                for (std::size_t b = 0; b < p_; ++b) y += b_[a * p_ + b] * dz[b];
                const std::size_t j = ordered_[a];
                raw_[i * p_ + a] = m_[a] + sigma_ * y;
                double x = reflect(raw_[i * p_ + a]);
                if (axes_.cells[j] > 0) {
                    // Whole cells: stay a hair inside [0, 1) so floor(x k) is a valid cell.
                    const double eps = 1e-9 / static_cast<double>(axes_.cells[j]);
                    x = std::min(std::max(x, eps), 1.0 - eps);
                }
                u[i * d + j] = x;
            }
        }
    });
    u_.assign(u, u + n * d);
}

std::vector<std::size_t> Zoom::ranking(const double* values, std::size_t n, std::size_t k) const {
    std::vector<std::size_t> idx;
    idx.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        if (std::isfinite(values[i])) idx.push_back(i);
    // Only the best k are needed in order: ties by index make the order unique.
    auto better = [values](std::size_t a, std::size_t b) {
        return values[a] < values[b] || (values[a] == values[b] && a < b);
    };
    k = std::min(k, idx.size());
    const auto kk = static_cast<std::ptrdiff_t>(k);
    if (k > 0 && k < idx.size()) std::nth_element(idx.begin(), idx.begin() + kk - 1, idx.end(), better);
    std::sort(idx.begin(), idx.begin() + kk, better);
    idx.resize(k);
    return idx;
}

void Zoom::learn_choices(const std::vector<std::size_t>& best, const std::vector<double>& w,
                         double rate) {
    const std::size_t d = axes_.d();
    for (std::size_t j : categorical_) {
        const std::size_t off = axes_.mask_offset[j];
        const auto k = static_cast<std::size_t>(-axes_.cells[j]);
        // Move each option's share towards how often the best points use it, keeping a
        // floor so that no option is ever lost for good (a wrong early pick can recover).
        std::vector<double> freq(k, 0.0);
        for (std::size_t e = 0; e < best.size(); ++e)
            freq[static_cast<std::size_t>(axes_.cell(j, u_[best[e] * d + j]))] += w[e];
        const double floor = kChoiceFloor / static_cast<double>(k);
        double total = 0.0;
        for (std::size_t c = 0; c < k; ++c) {
            double& q = q_[off + c];
            q = std::max((1.0 - rate) * q + rate * freq[c], floor);
            total += q;
        }
        for (std::size_t c = 0; c < k; ++c) {
            q_[off + c] /= total;
            // Shown as allowed: the options the region favours beyond the floor.
            allowed_[off + c] = q_[off + c] > 1.5 * floor ? 1 : 0;
        }
    }
}

std::size_t Zoom::observe(const double* unit, const double* raw, const double* values,
                          std::size_t n) {
    if (coarse_ && n != round_size())
        throw std::invalid_argument("`values` must hold one value per row of the round.");
    if (!coarse_ && n < round_size())
        throw std::invalid_argument("`values` must hold at least one value per row of the round.");
    const std::size_t d = axes_.d();
    u_.assign(unit, unit + n * d);
    if (!coarse_) {
        // Each point's draw relative to the current region: z = D^-1 B^T (x - m) / sigma.
        // Points drawn from an older region may lie far outside this one; their length
        // is capped at the longest a draw from this region can have (sqrt(3 p)).
        z_.assign(n * p_, 0.0);
        const double cap = std::sqrt(3.0 * static_cast<double>(p_));
        std::vector<double> y(p_);
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t a = 0; a < p_; ++a) y[a] = (raw[i * p_ + a] - m_[a]) / sigma_;
            double norm2 = 0.0;
            double* z = z_.data() + i * p_;
            for (std::size_t b = 0; b < p_; ++b) {
                double s = 0.0;
                for (std::size_t a = 0; a < p_; ++a) s += b_[a * p_ + b] * y[a];
                z[b] = s / dd_[b];
                norm2 += z[b] * z[b];
            }
            const double norm = std::sqrt(norm2);
            if (norm > cap)
                for (std::size_t b = 0; b < p_; ++b) z[b] *= cap / norm;
        }
    }
    return learn(values, n, true);
}

std::size_t Zoom::tell(const double* values, std::size_t n) {
    if (n != round_size())
        throw std::invalid_argument("`values` must hold one value per row of the round.");
    if (u_.size() != n * axes_.d())
        throw std::logic_error("tell() before sample() in a round.");
    return learn(values, n, false);
}

std::size_t Zoom::learn(const double* values, std::size_t n, bool asynchronous) {
    std::size_t finite = 0;
    for (std::size_t i = 0; i < n; ++i) finite += std::isfinite(values[i]) ? 1 : 0;
    ++round_;
    if (finite == 0) {
        if (!coarse_) ++since_better_;
        return 0;
    }
    if (coarse_) {
        begin_region(values, n, finite);
    } else {
        update(values, n, finite, asynchronous);
    }
    return finite;
}

void Zoom::begin_region(const double* values, std::size_t n, std::size_t finite) {
    const std::size_t mu = std::min(finite, std::max<std::size_t>(2, finite / 4));
    const std::vector<std::size_t> rank = ranking(values, n, mu);
    const std::size_t d = axes_.d();
    const Weights w = weights_for(mu);
    for (std::size_t a = 0; a < p_; ++a) {
        const std::size_t j = ordered_[a];
        // Centred on the best share's weighted mean, as wide as its spread.
        double mean = 0.0;
        for (std::size_t e = 0; e < mu; ++e) mean += w.w[e] * u_[rank[e] * d + j];
        double var = 0.0;
        for (std::size_t e = 0; e < mu; ++e) {
            const double dx = u_[rank[e] * d + j] - mean;
            var += w.w[e] * dx * dx;
        }
        // The first region is the best points' box: at least min_width wide (a floor for
        // exploration, not for convergence: later rounds shrink freely), at most the cube.
        double sd = std::sqrt(var);
        sd = std::max(sd, params_.min_width / (2.0 * kSqrt3));
        if (axes_.cells[j] > 0) sd = std::max(sd, 0.5 / static_cast<double>(axes_.cells[j]));
        sd = std::min(sd, 0.5 / kSqrt3);
        m_[a] = mean;
        dd_[a] = sd;
    }
    std::fill(c_.begin(), c_.end(), 0.0);
    std::fill(b_.begin(), b_.end(), 0.0);
    for (std::size_t a = 0; a < p_; ++a) {
        c_[a * p_ + a] = dd_[a] * dd_[a];
        b_[a * p_ + a] = 1.0;
    }
    sigma_ = 1.0;
    std::fill(ps_.begin(), ps_.end(), 0.0);
    std::fill(pc_.begin(), pc_.end(), 0.0);
    learn_choices(rank, w.w, 0.5);
    best_ = values[rank.front()];
    have_best_ = true;
    since_better_ = 0;
    coarse_ = false;
    zoomed_ = 0;
    event_ = run_ == 0 ? "zoom" : "restart";
}

void Zoom::decompose() {
    std::vector<double> a = c_, w;
    eigen_symmetric(a, p_, w, b_);
    for (std::size_t i = 0; i < p_; ++i) dd_[i] = std::sqrt(std::max(w[i], 1e-300));
    since_eigen_ = 0;
}

void Zoom::update(const double* values, std::size_t n, std::size_t finite, bool asynchronous) {
    const std::size_t lambda = n;
    const std::size_t mu = std::min(
        finite,
        std::max<std::size_t>(1, static_cast<std::size_t>(params_.keep * static_cast<double>(lambda))));
    const std::vector<std::size_t> rank = ranking(values, n, mu);
    const Weights w = weights_for(mu);
    const double mueff = w.mueff;
    const double p = static_cast<double>(std::max<std::size_t>(p_, 1));
    ++zoomed_;

    if (p_ > 0) {
        // CMA-ES's learning rates for this round size (Hansen, "The CMA Evolution Strategy:
        // A Tutorial", 2016, table 1).
        const double cs = (mueff + 2.0) / (p + mueff + 5.0);
        const double ds = 1.0 + 2.0 * std::max(0.0, std::sqrt((mueff - 1.0) / (p + 1.0)) - 1.0) + cs;
        const double cc = (4.0 + mueff / p) / (p + 4.0 + 2.0 * mueff / p);
        const double c1 = 2.0 / ((p + 1.3) * (p + 1.3) + mueff);
        const double cmu = std::min(1.0 - c1, 2.0 * (mueff - 2.0 + 1.0 / mueff) / ((p + 2.0) * (p + 2.0) + mueff));
        const double chin = std::sqrt(p) * (1.0 - 1.0 / (4.0 * p) + 1.0 / (21.0 * p * p));

        // y_i = B D z_i: each selected point's step from the old centre, in sigma units.
        std::vector<double> y(mu * p_), zw(p_, 0.0), yw(p_, 0.0);
        for (std::size_t e = 0; e < mu; ++e) {
            const double* z = z_.data() + rank[e] * p_;
            for (std::size_t a = 0; a < p_; ++a) {
                double s = 0.0;
                for (std::size_t b = 0; b < p_; ++b) s += b_[a * p_ + b] * dd_[b] * z[b];
                y[e * p_ + a] = s;
                yw[a] += w.w[e] * s;
                zw[a] += w.w[e] * z[a];
            }
        }
        for (std::size_t a = 0; a < p_; ++a) m_[a] = std::min(1.0, std::max(0.0, m_[a] + sigma_ * yw[a]));

        // Cumulative step-size adaptation: the path of B z_w, compared with its length
        // under random selection. Long paths (consistent moves) widen, short ones shrink.
        // A synchronous round's draws are stratified, so under random selection its z_w
        // is shorter than for independent draws. An asynchronous update's points come
        // from several regions: the older ones, re-expressed in this (usually narrower)
        // region, lie further out and off its centre, so its z_w is longer under random
        // selection. Its path step is scaled by the ratio of the two, so the step size
        // follows the points' selection as it would a synchronous round's, not the lag.
        double ks = std::sqrt(cs * (2.0 - cs) * mueff);
        if (asynchronous) ks /= selection_spread_ratio(z_.data(), values, n, p_, 1.0 / mueff);
        double norm2 = 0.0;
        for (std::size_t a = 0; a < p_; ++a) {
            double s = 0.0;
            for (std::size_t b = 0; b < p_; ++b) s += b_[a * p_ + b] * zw[b];
            ps_[a] = (1.0 - cs) * ps_[a] + ks * s;
            norm2 += ps_[a] * ps_[a];
        }
        const double norm = std::sqrt(norm2);
        const double gens = static_cast<double>(zoomed_);
        const double hsig_den = std::sqrt(std::max(1e-300, 1.0 - std::pow(1.0 - cs, 2.0 * gens)));
        const bool hsig = norm / hsig_den < (1.4 + 2.0 / (p + 1.0)) * chin;
        const double kc = hsig ? std::sqrt(cc * (2.0 - cc) * mueff) : 0.0;
        for (std::size_t a = 0; a < p_; ++a) pc_[a] = (1.0 - cc) * pc_[a] + kc * yw[a];

        // Covariance: rank-one (the path) plus rank-mu (this round's best steps).
        const double keepc = 1.0 - c1 - cmu + (hsig ? 0.0 : c1 * cc * (2.0 - cc));
        for (std::size_t a = 0; a < p_; ++a) {
            for (std::size_t b = 0; b <= a; ++b) {
                double rmu = 0.0;
                for (std::size_t e = 0; e < mu; ++e) rmu += w.w[e] * y[e * p_ + a] * y[e * p_ + b];
                const double v = keepc * c_[a * p_ + b] + c1 * pc_[a] * pc_[b] + cmu * rmu;
                c_[a * p_ + b] = v;
                c_[b * p_ + a] = v;
            }
        }
        sigma_ *= std::exp(std::min(1.0, (cs / ds) * (norm / chin - 1.0)));

        // Integer axes keep their neighbours within reach: a box narrower than a cell
        // would sample one value forever.
        for (std::size_t a = 0; a < p_; ++a) {
            const std::int64_t k = axes_.cells[ordered_[a]];
            if (k <= 0) continue;
            const double floor_sd = 0.5 / static_cast<double>(k);
            if (sigma_ * sigma_ * c_[a * p_ + a] < floor_sd * floor_sd)
                c_[a * p_ + a] = floor_sd * floor_sd / (sigma_ * sigma_);
        }
        // Large p: decompose lazily, as CMA-ES does (every 1 / (10 p (c1 + cmu)) rounds).
        ++since_eigen_;
        if (p_ <= 64 || static_cast<double>(since_eigen_ * 10 * p_) * (c1 + cmu) >= 1.0) decompose();
        // A box wider than the space says nothing more: cap it there.
        const double dmax = *std::max_element(dd_.begin(), dd_.end());
        if (sigma_ * dmax > 0.5 / kSqrt3 * 2.0) sigma_ = 0.5 / kSqrt3 * 2.0 / dmax;
    }
    learn_choices(rank, w.w, kChoiceRate);

    // Progress of the run, and the reasons to leave this region for a fresh coarse round.
    const double round_best = values[rank.front()];
    if (!have_best_ || round_best < best_) {
        best_ = round_best;
        have_best_ = true;
        since_better_ = 0;
    } else {
        ++since_better_;
    }
    history_.push_back(round_best);
    const auto horizon = static_cast<std::size_t>(10.0 + std::ceil(30.0 * p / static_cast<double>(lambda)));
    double hi = -INFINITY, lo = INFINITY;
    const std::size_t from = history_.size() > horizon ? history_.size() - horizon : 0;
    for (std::size_t i = from; i < history_.size(); ++i) {
        hi = std::max(hi, history_[i]);
        lo = std::min(lo, history_[i]);
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(values[i])) continue;
        hi = std::max(hi, values[i]);
        lo = std::min(lo, values[i]);
    }
    const double scale = std::max(1.0, std::fabs(best_));
    event_ = "zoom";
    if (p_ > 0) {
        const double dmax = *std::max_element(dd_.begin(), dd_.end());
        const double dmin = *std::min_element(dd_.begin(), dd_.end());
        if (sigma_ * dmax * kSqrt3 < kTolWidth) event_ = "converged";
        else if (dmax > kMaxAxisRatio * dmin) event_ = "ill-conditioned";
    }
    if (event_ == "zoom" && history_.size() >= horizon && hi - lo <= 1e-12 * scale) event_ = "flat";
    if (event_ == "zoom" &&
        static_cast<double>(since_better_) >= 120.0 + 30.0 * p / static_cast<double>(lambda))
        event_ = "stalled";
    if (event_ != "zoom") {
        ++run_;
        start_run();
    }
}

std::vector<double> Zoom::center() const {
    std::vector<double> c(axes_.d(), 0.5);
    if (!coarse_)
        for (std::size_t a = 0; a < p_; ++a) c[ordered_[a]] = m_[a];
    return c;
}

std::vector<double> Zoom::half_widths() const {
    std::vector<double> h(p_, 0.5);
    if (!coarse_)
        for (std::size_t a = 0; a < p_; ++a) h[a] = sigma_ * kSqrt3 * dd_[a];
    return h;
}

void Zoom::bounds(double* lo, double* hi) const {
    const std::size_t d = axes_.d();
    std::fill(lo, lo + d, 0.0);
    std::fill(hi, hi + d, 1.0);
    if (coarse_) return;
    for (std::size_t a = 0; a < p_; ++a) {
        double reach = 0.0;
        for (std::size_t b = 0; b < p_; ++b) reach += std::fabs(b_[a * p_ + b]) * dd_[b];
        reach *= sigma_ * kSqrt3;
        const std::size_t j = ordered_[a];
        lo[j] = std::max(0.0, m_[a] - reach);
        hi[j] = std::min(1.0, m_[a] + reach);
    }
}

}  // namespace hyperzoom
