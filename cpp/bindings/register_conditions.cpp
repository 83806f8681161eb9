// register_conditions.cpp: bindings of conditions.hpp.
#include <tuple>
#include <vector>

#include "hyperzoom/conditions.hpp"
#include "pybind11.hpp"

namespace hz = hyperzoom;
using hz::bindings::c_double;
using hz::bindings::c_uint32;
using hz::bindings::require;

namespace {

using TestSpec = std::tuple<std::size_t, std::vector<double>, std::vector<double>>;

std::vector<hz::Test> tests_from(const std::vector<TestSpec>& specs) {
    std::vector<hz::Test> out;
    out.reserve(specs.size());
    for (const auto& [param, lo, hi] : specs) out.push_back(hz::Test{param, lo, hi});
    return out;
}

double* rows_of(py::array_t<double>& unit, std::size_t d, const char* name) {
    require(unit.ndim() == 2 && static_cast<std::size_t>(unit.shape(1)) == d &&
                (unit.flags() & py::array::c_style) && unit.writeable(),
            std::string("`") + name + "` must be a writeable C-contiguous (n, d) float64 array.");
    return unit.mutable_data();
}

}  // namespace

void register_conditions(py::module_& m) {
    py::class_<hz::Conditions>(m, "Conditions")
        .def(py::init([](std::size_t d, const std::vector<std::size_t>& order,
                         const std::vector<std::vector<TestSpec>>& when,
                         const std::vector<std::vector<TestSpec>>& forbidden) {
                 hz::Conditions c;
                 c.d = d;
                 c.order = order;
                 for (const auto& w : when) c.when.push_back(tests_from(w));
                 for (const auto& f : forbidden) c.forbidden.push_back(tests_from(f));
                 c.check();
                 return c;
             }),
             "d"_a, "order"_a, "when"_a, "forbidden"_a)
        .def_readonly("d", &hz::Conditions::d)
        .def(
            "apply",
            [](const hz::Conditions& c, py::array_t<double> unit, int workers) {
                double* p = rows_of(unit, c.d, "unit");
                const auto n = static_cast<std::size_t>(unit.shape(0));
                py::gil_scoped_release release;  // pure C++ from here on
                c.apply(p, n, workers);
            },
            "unit"_a, "workers"_a = 1, "Set inactive entries of `unit` (n, d) to NaN, in place.")
        .def(
            "forbidden_rows",
            [](const hz::Conditions& c, const c_double& unit) {
                require(unit.ndim() == 2 && static_cast<std::size_t>(unit.shape(1)) == c.d,
                        "`unit` must have shape (n, d).");
                const auto n = static_cast<std::size_t>(unit.shape(0));
                py::array_t<bool> out(static_cast<py::ssize_t>(n));
                bool* o = out.mutable_data();
                const double* u = unit.data();
                {
                    py::gil_scoped_release release;  // pure C++ from here on
                    for (std::size_t i = 0; i < n; ++i) o[i] = c.is_forbidden(u + i * c.d);
                }
                return out;
            },
            "unit"_a, "Whether each row satisfies a forbidden clause.")
        .def(
            "redraw_forbidden",
            [](const hz::Conditions& c, const c_uint32& seed, py::array_t<double> unit,
               std::size_t max_attempts, int workers) {
                double* p = rows_of(unit, c.d, "unit");
                const hz::Stream stream = hz::bindings::stream_from(seed, 0);
                const auto n = static_cast<std::size_t>(unit.shape(0));
                py::gil_scoped_release release;  // pure C++ from here on
                return hz::redraw_forbidden(c, stream, p, n, max_attempts, workers);
            },
            "seed"_a, "unit"_a, "max_attempts"_a, "workers"_a = 1,
            "Redraw forbidden rows in place; returns the rows still forbidden.")
        .def(
            "restratify",
            [](const hz::Conditions& c, py::array_t<double> unit, bool centered,
               const std::vector<std::int64_t>& cells) {
                double* p = rows_of(unit, c.d, "unit");
                require(cells.size() == c.d, "`cells` must have one entry per parameter.");
                const auto n = static_cast<std::size_t>(unit.shape(0));
                py::gil_scoped_release release;  // pure C++ from here on
                hz::restratify(c, p, n, centered, cells);
            },
            "unit"_a, "centered"_a, "cells"_a,
            "Latin strata of each column over its active rows, parents first, integer "
            "and choice columns balanced (cells: k equal cells, -1 unequal, 0 "
            "continuous), in place.");
}
