// schedule.hpp: the bookkeeping of trial schedulers: successive-halving rungs, Hyperband
// brackets, promotions (top 1/eta), ASHA's "promotion due?" and PBT exploit/explore draws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hyperzoom/random.hpp"

namespace hyperzoom {

// Stream ids of the scheduler's draws (scales use 0..d-1; ids >= 0x20000 are ours).
inline constexpr std::uint32_t kPbtDonorStream = 0x20000u;
inline constexpr std::uint32_t kPbtExploreStream = 0x20001u;

// One rung of a successive-halving bracket: n runs, each trained to `budget` in total.
struct Rung {
    std::int64_t n = 0;
    double budget = 0.0;
};

// The number of halvings that fit: the largest s with min_budget * eta^s <= max_budget
// (a relative slack of 1e-9 absorbs rounding in the ratio). Checks its arguments.
std::int64_t max_halvings(double min_budget, double max_budget, std::int64_t eta);

// A successive-halving bracket of s = max_halvings(...) halvings started with n runs
// (Li et al. 2018): rung i keeps floor(n / eta^i) runs (at least 1) trained to
// max_budget * eta^(i - s), so the top rung is exactly max_budget.
std::vector<Rung> sh_rungs(std::int64_t n, double min_budget, double max_budget, std::int64_t eta);

// Hyperband's brackets, most aggressive first: bracket s = s_max..0 starts
// n = ceil((s_max + 1) eta^s / (s + 1)) runs at budget max_budget * eta^-s.
std::vector<std::vector<Rung>> hyperband_brackets(double min_budget, double max_budget,
                                                  std::int64_t eta);

// The k best runs (smallest loss, ties by id) as indices into loss/ids, best first.
// NaN (failed) runs are never chosen; returns how many were written (<= k).
std::size_t promote_top(const double* loss, const std::int64_t* ids, std::size_t n, std::size_t k,
                        std::int64_t* out);

// ASHA's rungs (Li et al. 2020): results are reported per rung; a run in rung k is due
// for promotion when it is among the best floor(|rung k| / eta) results there and was
// not promoted yet. Each rung is an order-statistic treap, so a report and a decision
// cost O(log n) whatever the number of runs in flight.
class AshaRungs {
public:
    AshaRungs(std::size_t n_rungs, std::int64_t eta);

    // Record that run `id` finished rung `rung` with `loss` (NaN: failed; never promoted).
    void report(std::int64_t id, std::size_t rung, double loss);

    // The promotion due, highest rung first: writes the run id and the rung it leaves,
    // marks it promoted and returns true; false when none is due.
    bool next_promotion(std::int64_t* id, std::size_t* rung);

    [[nodiscard]] std::size_t n_rungs() const noexcept { return rungs_.size(); }
    [[nodiscard]] std::size_t size(std::size_t rung) const;  // results reported there
    [[nodiscard]] std::size_t promoted(std::size_t rung) const;

private:
    struct Node {
        double loss;
        std::int64_t id;
        std::uint64_t prio;
        std::int32_t left = -1, right = -1;
        std::int32_t size = 1;        // nodes in this subtree
        std::int32_t open = 1;        // not-yet-promoted nodes in this subtree
        bool promoted = false;
    };
    struct Tree {
        std::vector<Node> nodes;
        std::int32_t root = -1;
        std::size_t n_promoted = 0;
    };
    std::vector<Tree> rungs_;
    std::int64_t eta_;

    static void pull(Tree& t, std::int32_t x) noexcept;
    static std::int32_t insert(Tree& t, std::int32_t root, std::int32_t x);
    // The best open node and its rank (nodes before it in loss order); -1 when none.
    static std::int32_t best_open(const Tree& t, std::size_t* rank) noexcept;
    static void mark(Tree& t, std::int32_t x);
};

// How PBT sees one unit axis when it perturbs: continuous, or cut into cells whose
// edges are equal (k cells), log-spaced for integers lo..hi (IntLogUniform), or given.
struct ExploreAxis {
    enum Mode : int { continuous = 0, equal = 1, int_log = 2, edges = 3 };
    int mode = continuous;
    std::int64_t k = 0;                 // cells (all but continuous)
    double lo = 0.0, hi = 0.0;          // int_log: the integer bounds
    std::vector<double> edge_list;      // edges: k + 1 increasing values from 0 to 1

    [[nodiscard]] double edge(std::int64_t i) const noexcept;
    [[nodiscard]] std::int64_t cell_of(double u) const noexcept;
    [[nodiscard]] double centre(std::int64_t i) const noexcept {
        return 0.5 * (edge(i) + edge(i + 1));
    }
};

struct PbtParams {
    double quantile = 0.25;          // share of the population in the bottom (and top)
    double perturb = 0.1;            // continuous shift, as a share of the unit axis
    double resample = 0.25;          // chance a parameter is redrawn from the whole axis
};

// Members in the bottom (and top) quantile: min(ceil(q n), floor(n / 2)), >= 1 for n >= 2.
std::size_t pbt_quantile_count(std::size_t n, double quantile) noexcept;

// One PBT exploit/explore step on a population of n members with unit configurations
// unit (n, d): members are ranked by loss (NaN last, ties by index); each of the bottom
// m = pbt_quantile_count(n, q) members copies a member drawn uniformly from the top m
// (exploit) and perturbs its configuration (explore): each axis is redrawn uniformly
// with probability `resample`, else a continuous axis moves by +-perturb (reflected at
// 0 and 1) and a cell axis to a neighbouring cell's centre (inward at the ends). Draws
// of member j at step t use words (t n + j) * 4 of kPbtDonorStream and 3 (d (t n + j)
// + c) of kPbtExploreStream, so they depend on (seed, t, j) only.
// Writes m rows: bottom[r] (member), donor[r] and new_unit[r * d ..]; returns m.
std::size_t pbt_step(const std::vector<ExploreAxis>& axes, const double* unit, const double* loss,
                     std::size_t n, const PbtParams& p, const Stream& seed, std::uint64_t step,
                     std::int64_t* bottom, std::int64_t* donor, double* new_unit);

// Explore alone: perturb the rows `unit` (m, d) as pbt_step would for members
// `member` at step `step` (the draws are the same ones).
void pbt_explore(const std::vector<ExploreAxis>& axes, const double* unit, std::size_t m,
                 const std::int64_t* member, std::size_t n, const PbtParams& p, const Stream& seed,
                 std::uint64_t step, double* out);

}  // namespace hyperzoom
