// schedule.cpp: rung tables, bracket plans, promotions, ASHA's order-statistic rungs and
// PBT's exploit/explore draws.
#include "hyperzoom/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace hyperzoom {
namespace {

// The one order of results everywhere (promotions, ASHA's trees): by loss, ties by id,
// so a decision never depends on arrival order.
inline bool before(double la, std::int64_t ia, double lb, std::int64_t ib) noexcept {
    return la < lb || (la == lb && ia < ib);
}

void check_eta(std::int64_t eta) {
    if (eta < 2) throw std::invalid_argument("`eta` must be >= 2, but got " + std::to_string(eta) + ".");
}

void check_budgets(double min_budget, double max_budget, std::int64_t eta) {
    check_eta(eta);
    if (!(min_budget > 0.0) || !std::isfinite(min_budget))
        throw std::invalid_argument("`min_budget` must be positive and finite.");
    if (!(max_budget >= min_budget) || !std::isfinite(max_budget))
        throw std::invalid_argument("`min_budget <= max_budget` must hold.");
}

// eta^e as an exact integer; throws when it would not fit (far beyond any real plan).
std::int64_t ipow(std::int64_t eta, std::int64_t e) {
    std::int64_t r = 1;
    for (std::int64_t i = 0; i < e; ++i) {
        if (r > std::numeric_limits<std::int64_t>::max() / eta)
            throw std::invalid_argument("`max_budget / min_budget` is too large for `eta`: eta^s overflows 64 bits.");
        r *= eta;
    }
    return r;
}

// max_budget / eta^e: one division of exact values, so 81 / 3^4 is exactly 1.
double budget_at(double max_budget, std::int64_t eta, std::int64_t e) {
    return max_budget / static_cast<double>(ipow(eta, e));
}

// splitmix64: treap priorities from (id, rung), so the trees' shapes are reproducible.
std::uint64_t mix(std::uint64_t x) noexcept {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

}  // namespace

std::int64_t max_halvings(double min_budget, double max_budget, std::int64_t eta) {
    check_budgets(min_budget, max_budget, eta);
    // Multiply up instead of taking log(R / r) / log(eta): exact for the usual integer
    // budgets, with a 1e-9 slack for ratios like 1 / 0.1 that round just below.
    std::int64_t s = 0;
    double b = min_budget;
    while (b * static_cast<double>(eta) <= max_budget * (1.0 + 1e-9)) {
        b *= static_cast<double>(eta);
        ++s;
        if (s > 62) throw std::invalid_argument("`max_budget / min_budget` is too large: more than 62 halvings by `eta`.");
    }
    return s;
}

std::vector<Rung> sh_rungs(std::int64_t n, double min_budget, double max_budget, std::int64_t eta) {
    if (n < 1) throw std::invalid_argument("`n` must be >= 1, but got " + std::to_string(n) + ".");
    const std::int64_t s = max_halvings(min_budget, max_budget, eta);
    std::vector<Rung> rungs;
    for (std::int64_t i = 0; i <= s; ++i) {
        const std::int64_t keep = std::max<std::int64_t>(n / ipow(eta, i), 1);
        rungs.push_back({keep, budget_at(max_budget, eta, s - i)});
    }
    return rungs;
}

std::vector<std::vector<Rung>> hyperband_brackets(double min_budget, double max_budget,
                                                  std::int64_t eta) {
    const std::int64_t s_max = max_halvings(min_budget, max_budget, eta);
    std::vector<std::vector<Rung>> brackets;
    for (std::int64_t s = s_max; s >= 0; --s) {
        // n = ceil((s_max + 1) eta^s / (s + 1)) in integers (Li et al. 2018, Algorithm 1).
        const std::int64_t p = ipow(eta, s);
        if (p > (std::numeric_limits<std::int64_t>::max() - s) / (s_max + 1))
            throw std::invalid_argument("`max_budget / min_budget` is too large for `eta`: the run counts overflow 64 bits.");
        const std::int64_t n = ((s_max + 1) * p + s) / (s + 1);
        std::vector<Rung> rungs;
        for (std::int64_t i = 0; i <= s; ++i)
            rungs.push_back({n / ipow(eta, i), budget_at(max_budget, eta, s - i)});
        brackets.push_back(std::move(rungs));
    }
    return brackets;
}

std::size_t promote_top(const double* loss, const std::int64_t* ids, std::size_t n, std::size_t k,
                        std::int64_t* out) {
    std::vector<std::int64_t> idx;
    idx.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isnan(loss[i])) idx.push_back(static_cast<std::int64_t>(i));
    k = std::min(k, idx.size());
    if (k == 0) return 0;
    auto better = [loss, ids](std::int64_t a, std::int64_t b) {
        return before(loss[a], ids[a], loss[b], ids[b]);
    };
    std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(), better);
    std::copy(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), out);
    return k;
}

// ---------------------------------------------------------------------------------------
AshaRungs::AshaRungs(std::size_t n_rungs, std::int64_t eta) : rungs_(n_rungs), eta_(eta) {
    check_eta(eta);
    if (n_rungs < 1) throw std::invalid_argument("`n_rungs` must be >= 1.");
}

void AshaRungs::pull(Tree& t, std::int32_t x) noexcept {
    Node& v = t.nodes[static_cast<std::size_t>(x)];
    v.size = 1;
    v.open = v.promoted ? 0 : 1;
    for (std::int32_t c : {v.left, v.right}) {
        if (c < 0) continue;
        v.size += t.nodes[static_cast<std::size_t>(c)].size;
        v.open += t.nodes[static_cast<std::size_t>(c)].open;
    }
}

// Insert node x under root by (loss, id), rotating it up while its priority is higher.
std::int32_t AshaRungs::insert(Tree& t, std::int32_t root, std::int32_t x) {
    if (root < 0) return x;
    auto& nodes = t.nodes;
    const Node& p = nodes[static_cast<std::size_t>(x)];
    const Node& q = nodes[static_cast<std::size_t>(root)];
    const auto r = static_cast<std::size_t>(root);
    if (before(p.loss, p.id, q.loss, q.id)) {
        const std::int32_t l = insert(t, nodes[r].left, x);
        nodes[r].left = l;
        if (nodes[static_cast<std::size_t>(l)].prio > nodes[r].prio) {  // rotate right
            nodes[r].left = nodes[static_cast<std::size_t>(l)].right;
            pull(t, root);
            nodes[static_cast<std::size_t>(l)].right = root;
            pull(t, l);
            return l;
        }
    } else {
        const std::int32_t g = insert(t, nodes[r].right, x);
        nodes[r].right = g;
        if (nodes[static_cast<std::size_t>(g)].prio > nodes[r].prio) {  // rotate left
            nodes[r].right = nodes[static_cast<std::size_t>(g)].left;
            pull(t, root);
            nodes[static_cast<std::size_t>(g)].left = root;
            pull(t, g);
            return g;
        }
    }
    pull(t, root);
    return root;
}

void AshaRungs::report(std::int64_t id, std::size_t rung, double loss) {
    if (rung >= rungs_.size())
        throw std::out_of_range("`rung` must be < " + std::to_string(rungs_.size()) + ".");
    if (std::isnan(loss)) return;  // a failed run has no place in any ranking
    Tree& t = rungs_[rung];
    if (t.nodes.size() >= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        throw std::length_error("too many results in one rung.");
    Node v{loss, id, mix(static_cast<std::uint64_t>(id) * 64u + rung)};
    t.nodes.push_back(v);
    t.root = insert(t, t.root, static_cast<std::int32_t>(t.nodes.size() - 1));
}

std::int32_t AshaRungs::best_open(const Tree& t, std::size_t* rank) noexcept {
    std::size_t before = 0;
    std::int32_t x = t.root;
    if (x < 0 || t.nodes[static_cast<std::size_t>(x)].open == 0) return -1;
    while (x >= 0) {
        const Node& v = t.nodes[static_cast<std::size_t>(x)];
        const std::int32_t l = v.left;
        const Node* ln = l >= 0 ? &t.nodes[static_cast<std::size_t>(l)] : nullptr;
        if (ln && ln->open > 0) {
            x = l;
            continue;
        }
        const std::size_t lsize = ln ? static_cast<std::size_t>(ln->size) : 0;
        if (!v.promoted) {
            *rank = before + lsize;
            return x;
        }
        before += lsize + 1;
        x = v.right;
    }
    return -1;  // unreachable while the open counts are right
}

void AshaRungs::mark(Tree& t, std::int32_t target) {
    const Node& goal = t.nodes[static_cast<std::size_t>(target)];
    std::int32_t x = t.root;
    while (x >= 0) {
        Node& v = t.nodes[static_cast<std::size_t>(x)];
        v.open -= 1;  // every node on the path holds the target in its subtree
        if (x == target) {
            v.promoted = true;
            ++t.n_promoted;
            return;
        }
        x = before(goal.loss, goal.id, v.loss, v.id) ? v.left : v.right;
    }
    throw std::logic_error("AshaRungs: node not found on its search path.");
}

bool AshaRungs::next_promotion(std::int64_t* id, std::size_t* rung) {
    // Highest rung first: finishing runs beats starting new ones (Li et al. 2020, Alg. 2).
    for (std::size_t k = rungs_.size() - 1; k-- > 0;) {
        Tree& t = rungs_[k];
        std::size_t rank = 0;
        const std::int32_t x = best_open(t, &rank);
        if (x < 0) continue;
        const std::size_t quota = t.nodes.size() / static_cast<std::size_t>(eta_);
        if (rank >= quota) continue;
        mark(t, x);
        *id = t.nodes[static_cast<std::size_t>(x)].id;
        *rung = k;
        return true;
    }
    return false;
}

std::size_t AshaRungs::size(std::size_t rung) const {
    if (rung >= rungs_.size()) throw std::out_of_range("`rung` out of range.");
    return rungs_[rung].nodes.size();
}

std::size_t AshaRungs::promoted(std::size_t rung) const {
    if (rung >= rungs_.size()) throw std::out_of_range("`rung` out of range.");
    return rungs_[rung].n_promoted;
}

// ---------------------------------------------------------------------------------------
double ExploreAxis::edge(std::int64_t i) const noexcept {
    if (i <= 0) return 0.0;
    if (i >= k) return 1.0;
    switch (mode) {
        case equal:
            return static_cast<double>(i) / static_cast<double>(k);
        case int_log:
            return std::log((lo + static_cast<double>(i)) / lo) / std::log((hi + 1.0) / lo);
        default:
            return edge_list[static_cast<std::size_t>(i)];
    }
}

std::int64_t ExploreAxis::cell_of(double u) const noexcept {
    std::int64_t i = 0;
    switch (mode) {
        case equal:
            i = static_cast<std::int64_t>(u * static_cast<double>(k));
            break;
        case int_log: {
            const double t = lo * std::exp(u * std::log((hi + 1.0) / lo));
            i = static_cast<std::int64_t>(std::floor(t)) - static_cast<std::int64_t>(lo);
            break;
        }
        default:
            i = static_cast<std::int64_t>(
                    std::upper_bound(edge_list.begin() + 1, edge_list.end() - 1, u) -
                    edge_list.begin()) -
                1;
    }
    return std::min(std::max<std::int64_t>(i, 0), k - 1);
}

std::size_t pbt_quantile_count(std::size_t n, double quantile) noexcept {
    const auto m = static_cast<std::size_t>(std::ceil(quantile * static_cast<double>(n) - 1e-12));
    return std::max<std::size_t>(std::min(m, n / 2), n >= 2 ? 1 : 0);
}

void pbt_explore(const std::vector<ExploreAxis>& axes, const double* unit, std::size_t m,
                 const std::int64_t* member, std::size_t n, const PbtParams& p, const Stream& seed,
                 std::uint64_t step, double* out) {
    const std::size_t d = axes.size();
    const Stream s = seed.with_stream(kPbtExploreStream);
    std::vector<double> draws(3 * d);
    for (std::size_t r = 0; r < m; ++r) {
        const std::uint64_t slot = step * n + static_cast<std::uint64_t>(member[r]);
        // A member's 3 d uniforms are consecutive: one vectorised fill per member.
        fill_uniform(s, 3 * d * slot, 3 * d, draws.data());
        for (std::size_t c = 0; c < d; ++c) {
            const ExploreAxis& ax = axes[c];
            const double* w = draws.data() + 3 * c;
            const double u = unit[r * d + c];
            const bool redraw = w[0] < p.resample;
            const bool up = w[1] < 0.5;
            double v;
            if (ax.mode == ExploreAxis::continuous) {
                if (redraw) {
                    v = w[2];
                } else {
                    // Reflect at the ends: the bounds are never left and never piled on.
                    v = up ? u + p.perturb : u - p.perturb;
                    if (v > 1.0) v = 2.0 - v;
                    if (v < 0.0) v = -v;
                    v = std::min(std::max(v, 0.0), 1.0);
                }
            } else {
                std::int64_t i = ax.cell_of(redraw ? w[2] : u);
                if (!redraw && ax.k > 1) {
                    i += up ? 1 : -1;
                    if (i < 0) i = 1;
                    if (i >= ax.k) i = ax.k - 2;
                }
                v = ax.centre(i);
            }
            out[r * d + c] = v;
        }
    }
}

std::size_t pbt_step(const std::vector<ExploreAxis>& axes, const double* unit, const double* loss,
                     std::size_t n, const PbtParams& p, const Stream& seed, std::uint64_t step,
                     std::int64_t* bottom, std::int64_t* donor, double* new_unit) {
    const std::size_t m = pbt_quantile_count(n, p.quantile);
    if (m == 0) return 0;
    std::vector<std::int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    // NaN (failed) members rank last, so they are the first to be replaced.
    std::stable_sort(order.begin(), order.end(), [loss](std::int64_t a, std::int64_t b) {
        const double la = loss[a], lb = loss[b];
        if (std::isnan(la)) return false;
        if (std::isnan(lb)) return true;
        return la < lb;
    });
    const Stream ds = seed.with_stream(kPbtDonorStream);
    const std::size_t d = axes.size();
    std::vector<double> rows(m * d);
    for (std::size_t r = 0; r < m; ++r) {
        const std::int64_t j = order[n - 1 - r];  // worst first
        std::uint64_t idx = (step * n + static_cast<std::uint64_t>(j)) * 4;
        const std::int64_t pick = order[bounded_at(ds, m, &idx)];
        bottom[r] = j;
        donor[r] = pick;
        std::copy(unit + static_cast<std::size_t>(pick) * d,
                  unit + static_cast<std::size_t>(pick + 1) * d, rows.begin() + static_cast<std::ptrdiff_t>(r * d));
    }
    pbt_explore(axes, rows.data(), m, bottom, n, p, seed, step, new_unit);
    return m;
}

}  // namespace hyperzoom
