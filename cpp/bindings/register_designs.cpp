// register_designs.cpp: bindings of designs.hpp. Arrays in, arrays out, GIL released.
#include <vector>

#include "hyperzoom/designs.hpp"
#include "pybind11.hpp"

namespace hz = hyperzoom;
using hz::bindings::c_double;
using hz::bindings::c_uint32;
using hz::bindings::require;


namespace {

py::array_t<double> matrix(std::int64_t n, std::int64_t d) {
    return py::array_t<double>({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(d)});
}

void require_shape(std::int64_t n, std::int64_t d) {
    require(n >= 0, "`n` must be >= 0, but got " + std::to_string(n) + ".");
    require(d >= 1, "`d` must be >= 1, but got " + std::to_string(d) + ".");
    hz::bindings::require_rows(n, d, "n");
}

const c_double& require_2d(const c_double& x, const char* name) {
    require(x.ndim() == 2, std::string("`") + name + "` must be two-dimensional (n, d).");
    return x;
}

}  // namespace

void register_designs(py::module_& m) {
    m.def(
        "random_design",
        [](const c_uint32& seed, std::int64_t n, std::int64_t d, int workers) {
            require_shape(n, d);
            const hz::Stream s = hz::bindings::stream_from(seed, 0);
            auto out = matrix(n, d);
            double* p = out.mutable_data();
            py::gil_scoped_release release;  // pure C++ from here on
            hz::random_design(s, static_cast<std::size_t>(n), static_cast<std::size_t>(d), p, workers);
            return out;
        },
        "seed"_a, "n"_a, "d"_a, "workers"_a = 1, "(n, d) uniforms in [0, 1).");

    m.def(
        "latin_hypercube",
        [](const c_uint32& seed, std::int64_t n, std::int64_t d, bool centered, int workers) {
            require_shape(n, d);
            const hz::Stream s = hz::bindings::stream_from(seed, 0);
            auto out = matrix(n, d);
            double* p = out.mutable_data();
            py::gil_scoped_release release;  // pure C++ from here on
            hz::latin_hypercube(s, static_cast<std::size_t>(n), static_cast<std::size_t>(d), centered, p,
                                workers);
            return out;
        },
        "seed"_a, "n"_a, "d"_a, "centered"_a = false, "workers"_a = 1,
        "(n, d) Latin hypercube in [0, 1).");

    m.def(
        "extend_lhs",
        [](const c_uint32& seed, const c_double& design, std::int64_t m, bool centered,
           int workers) {
            require_2d(design, "design");
            require(m >= 0, "`m` must be >= 0, but got " + std::to_string(m) + ".");
            const auto n0 = static_cast<std::size_t>(design.shape(0));
            const auto d = static_cast<std::int64_t>(design.shape(1));
            require(d >= 1, "`design` must have at least one column.");
            hz::bindings::require_rows(m + static_cast<std::int64_t>(n0), d, "m");
            const hz::Stream s = hz::bindings::stream_from(seed, 0);
            auto out = matrix(m, d);
            double* p = out.mutable_data();
            const double* x = design.data();
            py::gil_scoped_release release;  // pure C++ from here on
            hz::extend_lhs(s, x, n0, static_cast<std::size_t>(d), static_cast<std::size_t>(m), centered, p,
                           workers);
            return out;
        },
        "seed"_a, "design"_a, "m"_a, "centered"_a = false, "workers"_a = 1,
        "m new rows that complete an existing design towards a Latin hypercube.");

    m.def(
        "optimize",
        [](const c_uint32& seed, const c_double& design, int criterion, std::uint64_t iterations,
           std::uint64_t stall, double threshold, int workers) {
            require_2d(design, "design");
            require(criterion == 1 || criterion == 2, "`criterion` must be 1 (maximin) or 2 (cd).");
            require(threshold >= 0.0, "`threshold` must be >= 0.");
            const auto n = static_cast<std::size_t>(design.shape(0));
            const auto d = static_cast<std::size_t>(design.shape(1));
            const hz::Stream s = hz::bindings::stream_from(seed, 0);
            auto out = matrix(static_cast<std::int64_t>(n), static_cast<std::int64_t>(d));
            double* p = out.mutable_data();
            std::copy(design.data(), design.data() + n * d, p);
            hz::OptimizeOptions opt;
            opt.criterion = static_cast<hz::Criterion>(criterion);
            opt.iterations = iterations;
            opt.stall = stall;
            opt.threshold = threshold;
            hz::OptimizeReport rep;
            {
                py::gil_scoped_release release;  // pure C++ from here on
                rep = hz::optimize_design(s, p, n, d, opt, workers);
            }
            py::dict info;
            info["proposals"] = rep.proposals;
            info["accepted"] = rep.accepted;
            info["initial"] = rep.initial;
            info["final"] = rep.final;
            return py::make_tuple(out, info);
        },
        "seed"_a, "design"_a, "criterion"_a, "iterations"_a, "stall"_a = 0,
        "threshold"_a = 0.0, "workers"_a = 1,
        "Exchange-optimised copy of a design, and a dict of what the optimiser did.");

    m.def(
        "discrepancy",
        [](const c_double& sample, int method, int workers) {
            require_2d(sample, "sample");
            require(method >= 0 && method <= 3, "`method` must be 0 (CD), 1 (WD), 2 (MD) or 3 (L2-star).");
            const auto n = static_cast<std::size_t>(sample.shape(0));
            const auto d = static_cast<std::size_t>(sample.shape(1));
            const double* x = sample.data();
            py::gil_scoped_release release;  // pure C++ from here on
            return hz::discrepancy(x, n, d, static_cast<hz::Discrepancy>(method), workers);
        },
        "sample"_a, "method"_a = 0, "workers"_a = 1, "Discrepancy of a sample in [0, 1]^d.");

    m.def(
        "min_distance",
        [](const c_double& sample, int workers) {
            require_2d(sample, "sample");
            const auto n = static_cast<std::size_t>(sample.shape(0));
            const auto d = static_cast<std::size_t>(sample.shape(1));
            const double* x = sample.data();
            py::gil_scoped_release release;  // pure C++ from here on
            return hz::min_distance(x, n, d, workers);
        },
        "sample"_a, "workers"_a = 1, "Smallest Euclidean distance between two rows.");

    m.def(
        "grid",
        [](const std::vector<c_double>& levels, int workers) {
            const std::size_t d = levels.size();
            std::vector<const double*> ptrs(d);
            std::vector<std::size_t> counts(d);
            std::size_t total = 1;
            for (std::size_t j = 0; j < d; ++j) {
                require(levels[j].ndim() == 1 && levels[j].size() >= 1,
                        "every level array must be one-dimensional and non-empty.");
                ptrs[j] = levels[j].data();
                counts[j] = static_cast<std::size_t>(levels[j].size());
                require(total <= (std::size_t{1} << 40) / counts[j], "the grid is too large.");
                total *= counts[j];
            }
            auto out = matrix(static_cast<std::int64_t>(total), static_cast<std::int64_t>(d));
            double* p = out.mutable_data();
            py::gil_scoped_release release;  // pure C++ from here on
            hz::grid_fill(ptrs.data(), counts.data(), d, p, workers);
            return out;
        },
        "levels"_a, "workers"_a = 1, "The Cartesian product of per-column levels, last fastest.");
}
