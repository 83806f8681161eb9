// importance.cpp: main-effect variance shares and their bootstrap.
#include "hyperzoom/importance.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "hyperzoom/parallel.hpp"

namespace hyperzoom {

std::vector<std::int32_t> bin_columns(const Axes& axes, const double* unit, std::size_t n,
                                      std::size_t bins, std::int32_t* bin, int workers) {
    const std::size_t d = axes.d();
    if (bins < 1) throw std::invalid_argument("`bins` must be >= 1.");
    std::vector<std::int32_t> nbins(d, 1);
    parallel_for(d, workers, 1, 1, [&](std::size_t b, std::size_t e) {
        std::vector<std::uint32_t> order(n);
        for (std::size_t j = b; j < e; ++j) {
            const std::int64_t c = axes.cells[j];
            if (c < 0 || (c > 0 && static_cast<std::size_t>(c) <= bins)) {
                const std::int64_t k = c < 0 ? -c : c;
                nbins[j] = static_cast<std::int32_t>(k);
                for (std::size_t i = 0; i < n; ++i) bin[i * d + j] = static_cast<std::int32_t>(axes.cell(j, unit[i * d + j]));
                continue;
            }
            // Equal-count bins by rank; ties keep their order of appearance (stable).
            std::iota(order.begin(), order.end(), 0u);
            std::stable_sort(order.begin(), order.end(), [&](std::uint32_t p, std::uint32_t q) {
                return unit[p * d + j] < unit[q * d + j];
            });
            const std::size_t B = std::min(bins, std::max<std::size_t>(n, 1));
            nbins[j] = static_cast<std::int32_t>(B);
            for (std::size_t r = 0; r < n; ++r)
                bin[static_cast<std::size_t>(order[r]) * d + j] = static_cast<std::int32_t>(r * B / n);
        }
    });
    return nbins;
}

void main_effect_shares(const std::int32_t* bin, std::size_t d, const std::vector<std::int32_t>& nbins,
                        const double* y, const std::uint32_t* rows, std::size_t n_rows,
                        double* share) {
    double mean = 0.0;
    for (std::size_t r = 0; r < n_rows; ++r) mean += y[rows[r]];
    mean /= static_cast<double>(n_rows);
    double ss_total = 0.0;
    for (std::size_t r = 0; r < n_rows; ++r) {
        const double t = y[rows[r]] - mean;
        ss_total += t * t;
    }
    std::vector<double> sum;
    std::vector<std::size_t> count;
    for (std::size_t j = 0; j < d; ++j) {
        const auto k = static_cast<std::size_t>(nbins[j]);
        sum.assign(k, 0.0);
        count.assign(k, 0);
        for (std::size_t r = 0; r < n_rows; ++r) {
            const auto row = static_cast<std::size_t>(rows[r]);
            const auto b = static_cast<std::size_t>(bin[row * d + j]);
            sum[b] += y[row] - mean;
            count[b] += 1;
        }
        double ss_between = 0.0;
        std::size_t used = 0;
        for (std::size_t b = 0; b < k; ++b) {
            if (count[b] == 0) continue;
            ++used;
            ss_between += sum[b] * sum[b] / static_cast<double>(count[b]);
        }
        if (!(ss_total > 0.0) || used < 2 || n_rows <= used) {
            share[j] = 0.0;
            continue;
        }
        const double ms_within = (ss_total - ss_between) / static_cast<double>(n_rows - used);
        const double adj = (ss_between - static_cast<double>(used - 1) * ms_within) / ss_total;
        share[j] = std::max(0.0, adj);
    }
}

ImportanceOutput importance(const Axes& axes, const double* unit, const double* y, std::size_t n,
                            std::size_t bins, std::size_t n_boot, const Stream& seed, int workers) {
    const std::size_t d = axes.d();
    if (n < 2) throw std::invalid_argument("importance needs at least 2 successful trials, but got " + std::to_string(n) + ".");
    if (n > 0xFFFFFFFFull) throw std::invalid_argument("importance supports at most 2**32 - 1 trials.");
    std::vector<std::int32_t> bin(n * d);
    const auto nbins = bin_columns(axes, unit, n, bins, bin.data(), workers);
    ImportanceOutput out;
    out.share.assign(d, 0.0);
    out.boot.assign(n_boot * d, 0.0);
    std::vector<std::uint32_t> all(n);
    std::iota(all.begin(), all.end(), 0u);
    main_effect_shares(bin.data(), d, nbins, y, all.data(), n, out.share.data());
    parallel_for(n_boot, workers, 1, 1, [&](std::size_t b, std::size_t e) {
        std::vector<std::uint32_t> rows(n);
        std::vector<std::uint64_t> words(n);
        for (std::size_t r = b; r < e; ++r) {
            const Stream s = seed.with_stream(seed.stream + static_cast<std::uint32_t>(r));
            // Words 0..n-1 in bulk; the rare rejected word is replaced from words
            // n, n+1, ... so rows stay exactly uniform.
            fill_bits(s, 0, n, words.data());
            std::uint64_t extra = n;
            for (std::size_t i = 0; i < n; ++i)
                rows[i] = static_cast<std::uint32_t>(bounded_word(s, words[i], n, &extra));
            main_effect_shares(bin.data(), d, nbins, y, rows.data(), n, out.boot.data() + r * d);
        }
    });
    return out;
}

}  // namespace hyperzoom
