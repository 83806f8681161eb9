// parallel.hpp: deterministic chunking of [0, n) over a few std::threads.
// Chunk boundaries never change a result: every kernel's output depends on the index only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace hyperzoom {

// Number of threads actually worth starting for n items with at least `grain` each.
inline int effective_workers(std::size_t n, int workers, std::size_t grain) noexcept {
    if (workers < 1) workers = 1;
    const std::size_t most = grain == 0 ? n : (n + grain - 1) / grain;
    if (most < static_cast<std::size_t>(workers)) workers = static_cast<int>(std::max<std::size_t>(most, 1));
    return workers;
}

// Calls f(begin, end) on contiguous ranges covering [0, n); range starts are multiples of
// `align` so SIMD kernels stay on group boundaries. The first exception thrown by any
// range is rethrown in the caller after all threads have joined.
template <class F>
void parallel_for(std::size_t n, int workers, std::size_t grain, std::size_t align, F&& f) {
    if (n == 0) return;
    if (align == 0) align = 1;
    workers = effective_workers(n, workers, std::max(grain, align));
    if (workers == 1) {
        f(std::size_t{0}, n);
        return;
    }
    const auto w = static_cast<std::size_t>(workers);
    std::size_t per = (n + w - 1) / w;
    per = (per + align - 1) / align * align;
    std::vector<std::exception_ptr> errors(w);
    std::vector<std::thread> threads;
    threads.reserve(w - 1);
    auto run = [&](std::size_t t) {
        const std::size_t begin = std::min(n, t * per);
        const std::size_t end = std::min(n, begin + per);
        if (begin >= end) return;
        try {
            f(begin, end);
        } catch (...) {
            errors[t] = std::current_exception();
        }
    };
    for (std::size_t t = 1; t < w; ++t) threads.emplace_back(run, t);
    run(0);
    for (auto& th : threads) th.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace hyperzoom
