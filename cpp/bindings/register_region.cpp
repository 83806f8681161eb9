// register_region.cpp: bindings of region.hpp.
#include <optional>
#include <vector>

#include "hyperzoom/region.hpp"
#include "pybind11.hpp"

namespace hz = hyperzoom;
using hz::bindings::c_double;
using hz::bindings::c_int64;
using hz::bindings::require;
using c_uint8 = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;

namespace {

hz::Region region_from(const hz::Axes& axes, const c_double& lo, const c_double& hi,
                       const c_uint8& allowed) {
    const auto d = static_cast<py::ssize_t>(axes.d());
    require(lo.ndim() == 1 && lo.shape(0) == d && hi.ndim() == 1 && hi.shape(0) == d,
            "`lo` and `hi` must have shape (d,).");
    require(allowed.ndim() == 1 && static_cast<std::size_t>(allowed.shape(0)) == axes.mask_size,
            "`allowed` must have one entry per category.");
    hz::Region r;
    r.lo.assign(lo.data(), lo.data() + d);
    r.hi.assign(hi.data(), hi.data() + d);
    r.allowed.assign(allowed.data(), allowed.data() + allowed.shape(0));
    return r;
}

py::tuple region_out(const hz::Region& r) {
    py::array_t<double> lo(static_cast<py::ssize_t>(r.lo.size()));
    py::array_t<double> hi(static_cast<py::ssize_t>(r.hi.size()));
    py::array_t<bool> allowed(static_cast<py::ssize_t>(r.allowed.size()));
    std::copy(r.lo.begin(), r.lo.end(), lo.mutable_data());
    std::copy(r.hi.begin(), r.hi.end(), hi.mutable_data());
    for (std::size_t i = 0; i < r.allowed.size(); ++i) allowed.mutable_data()[i] = r.allowed[i] != 0;
    return py::make_tuple(lo, hi, allowed);
}

void require_unit(const hz::Axes& axes, const c_double& u, const char* name) {
    require(u.ndim() == 2 && static_cast<std::size_t>(u.shape(1)) == axes.d(),
            std::string("`") + name + "` must have shape (n, d).");
}

}  // namespace

void register_region(py::module_& m) {
    m.def(
        "select_elite",
        [](const c_double& values, std::int64_t k, bool sorted) {
            require(values.ndim() == 1, "`values` must be one-dimensional.");
            require(k >= 0, "`k` must be >= 0.");
            const auto n = static_cast<std::size_t>(values.shape(0));
            std::vector<std::int64_t> out(std::min<std::size_t>(static_cast<std::size_t>(k), n));
            std::size_t got = 0;
            {
                py::gil_scoped_release release;  // pure C++ from here on
                got = hz::select_elite(values.data(), n, out.size(), out.data(), sorted);
            }
            py::array_t<std::int64_t> result(static_cast<py::ssize_t>(got));
            std::copy(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(got), result.mutable_data());
            return result;
        },
        "values"_a, "k"_a, "sorted"_a = true,
        "Indices of the k smallest non-NaN values (best first when sorted).");

    py::class_<hz::Axes>(m, "Axes")
        .def(py::init([](const c_int64& cells, const std::vector<std::optional<c_double>>& edges) {
                 require(cells.ndim() == 1 && static_cast<std::size_t>(cells.shape(0)) == edges.size(),
                         "`cells` and `edges` must have one entry per dimension.");
                 hz::Axes a;
                 a.cells.assign(cells.data(), cells.data() + cells.shape(0));
                 for (const auto& e : edges) {
                     if (e) a.edges.emplace_back(e->data(), e->data() + e->size());
                     else a.edges.emplace_back();
                 }
                 a.prepare();
                 return a;
             }),
             "cells"_a, "edges"_a)
        .def_property_readonly("d", &hz::Axes::d)
        .def_property_readonly("mask_size", [](const hz::Axes& a) { return a.mask_size; })
        .def(
            "shrink",
            [](const hz::Axes& axes, const c_double& unit, const c_int64& elite, const c_double& lo,
               const c_double& hi, const c_uint8& allowed, double margin, double min_width,
               double pan_edge, double pan_step) {
                require_unit(axes, unit, "unit");
                require(elite.ndim() == 1 && elite.shape(0) > 0, "`elite` must be a non-empty 1-D array.");
                const hz::Region cur = region_from(axes, lo, hi, allowed);
                const hz::ShrinkParams p{margin, min_width, pan_edge, pan_step};
                hz::Region next;
                {
                    py::gil_scoped_release release;  // pure C++ from here on
                    next = hz::shrink(axes, unit.data(), static_cast<std::size_t>(unit.shape(0)),
                                      elite.data(), static_cast<std::size_t>(elite.shape(0)), cur, p);
                }
                return region_out(next);
            },
            "unit"_a, "elite"_a, "lo"_a, "hi"_a, "allowed"_a, "margin"_a, "min_width"_a,
            "pan_edge"_a, "pan_step"_a, "The next region: (lo, hi, allowed).")
        .def(
            "region_to_unit",
            [](const hz::Axes& axes, const c_double& v, const c_double& lo, const c_double& hi,
               const c_uint8& allowed, int workers) {
                require_unit(axes, v, "v");
                const hz::Region r = region_from(axes, lo, hi, allowed);
                py::array_t<double> u({v.shape(0), v.shape(1)});
                double* up = u.mutable_data();
                {
                    py::gil_scoped_release release;  // pure C++ from here on
                    hz::region_to_unit(axes, r, v.data(), static_cast<std::size_t>(v.shape(0)), up, workers);
                }
                return u;
            },
            "v"_a, "lo"_a, "hi"_a, "allowed"_a, "workers"_a = 1,
            "A design in the region's own unit cube -> global unit coordinates.")
        .def(
            "contains",
            [](const hz::Axes& axes, const c_double& u, const c_double& lo, const c_double& hi,
               const c_uint8& allowed) {
                require_unit(axes, u, "u");
                const hz::Region r = region_from(axes, lo, hi, allowed);
                const auto n = static_cast<std::size_t>(u.shape(0));
                std::vector<std::uint8_t> tmp(n);
                {
                    py::gil_scoped_release release;  // pure C++ from here on
                    hz::region_contains(axes, r, u.data(), n, tmp.data());
                }
                py::array_t<bool> out(static_cast<py::ssize_t>(n));
                for (std::size_t i = 0; i < n; ++i) out.mutable_data()[i] = tmp[i] != 0;
                return out;
            },
            "u"_a, "lo"_a, "hi"_a, "allowed"_a, "Which rows of u lie in the region.");
}
