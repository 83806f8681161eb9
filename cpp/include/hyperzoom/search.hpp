// search.hpp: the coarse-to-fine state machine behind hz.search: a coarse round over the
// whole space, then regions that follow success (rotated boxes on the scaled axes), restarts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hyperzoom/region.hpp"

namespace hyperzoom {

struct ZoomParams {
    std::size_t round_size = 0;   // points in a zoomed round of the first run (0: 4 + 3 ln p)
    std::size_t first_round = 0;  // points in the first coarse round (0: max(10, 2 d + 4))
    double keep = 0.5;            // share of a zoomed round that moves the region
    double min_width = 0.05;      // the first region of a run is at least this wide (unit axes)
    std::size_t max_doublings = 16;  // each restart doubles the rounds, this many times at most
};

// Symmetric eigendecomposition by cyclic Jacobi rotations. `a` (p x p, row-major) is
// overwritten; eigenvalues ascending in `w`, unit eigenvectors as the columns of `v`.
void eigen_symmetric(std::vector<double>& a, std::size_t p, std::vector<double>& w,
                     std::vector<double>& v);

// The search as a sequence of rounds whose sizes never depend on the total budget:
//
//   run k (k = 0, 1, ...): a coarse round of first_round * 2^k points over the whole space,
//   then zoomed rounds of round_size * 2^k points inside a region that moves and shrinks
//   with success, until the run converges or stalls; then run k + 1 starts afresh.
//
// A region on the ordered axes (continuous and integer, on their scaled unit axes) is a box
// centred on m with principal axes B and half-widths sigma * sqrt(3) * D: a design v in the
// region's cube maps to x = m + sigma * B * D * z with z = sqrt(3) (2 v - 1) (unit variance),
// reflected into [0, 1]. Its update is CMA-ES's (weighted recombination of the best share,
// rank-one and rank-mu covariance updates, cumulative step-size adaptation), so the box
// shrinks as long as it finds better points, grows when it keeps moving one way, and turns
// to follow a valley. Choice axes learn each option's share of a round from how often the
// best points use it, above a floor that keeps every option within reach.
class Zoom {
public:
    Zoom(Axes axes, const ZoomParams& params);

    [[nodiscard]] std::size_t d() const noexcept { return axes_.d(); }
    [[nodiscard]] bool coarse() const noexcept { return coarse_; }
    [[nodiscard]] std::size_t round_size() const noexcept;
    [[nodiscard]] std::size_t run() const noexcept { return run_; }
    [[nodiscard]] std::size_t round() const noexcept { return round_; }
    [[nodiscard]] double sigma() const noexcept { return sigma_; }
    [[nodiscard]] const std::string& last_event() const noexcept { return event_; }
    [[nodiscard]] const std::vector<std::size_t>& ordered() const noexcept { return ordered_; }

    // Map a design v (round_size() x d, in [0, 1]) to the unit rows u of the current round
    // (rows split over `workers` threads; the result never depends on the split).
    void sample(const double* v, double* u, int workers = 1);
    // The values of the current round's rows in sampling order (NaN: failed). Moves to the
    // next round. Returns the number of finite values (0: nothing was learnt).
    std::size_t tell(const double* values, std::size_t n);
    // The asynchronous form of tell: points (unit rows, their raw draws before mirroring,
    // their values), whatever region they were drawn from; each point counts by where it
    // lies relative to the current region. A coarse round takes exactly round_size()
    // points, a zoomed one at least round_size(). The step size learns from these points
    // as it does from a synchronous round: the path's step is normalised by its spread
    // under random selection of the very points used, relative to that spread for a
    // round's stratified draws (see update()).
    std::size_t observe(const double* unit, const double* raw, const double* values,
                        std::size_t n);
    // The current round's draws before mirroring into the space (round_size() x p).
    [[nodiscard]] const std::vector<double>& raw() const noexcept { return raw_; }

    // The current region: its centre (d; 0.5 on choice axes), its principal axes (p x p,
    // columns, row-major), half-widths along them (p), bounding box on every unit axis and
    // the options each choice axis favours (above the floor share every option keeps).
    [[nodiscard]] std::vector<double> center() const;
    [[nodiscard]] std::vector<double> basis() const { return b_; }
    [[nodiscard]] std::vector<double> half_widths() const;
    void bounds(double* lo, double* hi) const;
    [[nodiscard]] const std::vector<std::uint8_t>& allowed() const noexcept { return allowed_; }

private:
    void start_run();
    std::size_t learn(const double* values, std::size_t n, bool asynchronous);
    void begin_region(const double* values, std::size_t n, std::size_t finite);
    void update(const double* values, std::size_t n, std::size_t finite, bool asynchronous);
    void decompose();
    // Indices of the best k finite values, best first (ties by index).
    [[nodiscard]] std::vector<std::size_t> ranking(const double* values, std::size_t n,
                                                   std::size_t k) const;
    void learn_choices(const std::vector<std::size_t>& best, const std::vector<double>& w,
                       double rate);

    Axes axes_;
    ZoomParams params_;
    std::vector<std::size_t> ordered_;      // indices of continuous and integer axes
    std::vector<std::size_t> categorical_;  // indices of choice axes
    std::size_t p_ = 0;                     // number of ordered axes

    // schedule
    std::size_t run_ = 0, round_ = 0, zoomed_ = 0;
    bool coarse_ = true;
    std::string event_ = "start";

    // region: mean, step size, covariance C = B D^2 B^T, evolution paths
    std::vector<double> m_, c_, b_, dd_, ps_, pc_;
    double sigma_ = 1.0;
    std::size_t since_eigen_ = 0;

    // the rows of the current round: unit coordinates and unit-variance draws z
    std::vector<double> u_, z_, raw_;
    std::vector<std::uint8_t> allowed_;
    std::vector<double> q_;  // per option of every choice axis: its share of a round

    // progress of the current run
    double best_ = 0.0;
    bool have_best_ = false;
    std::size_t since_better_ = 0;
    std::vector<double> history_;  // best value of each zoomed round of this run
};

}  // namespace hyperzoom
