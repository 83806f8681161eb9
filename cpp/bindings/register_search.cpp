// register_search.cpp: bindings of search.hpp (the coarse-to-fine state machine).
#include <vector>

#include "hyperzoom/search.hpp"
#include "pybind11.hpp"

namespace hz = hyperzoom;
using hz::bindings::c_double;
using hz::bindings::require;

void register_search(py::module_& m) {
    py::class_<hz::Zoom>(m, "Zoom")
        .def(py::init([](const hz::Axes& axes, std::size_t round_size, std::size_t first_round,
                         double keep, double min_width, std::size_t max_doublings) {
                 hz::ZoomParams p;
                 p.round_size = round_size;
                 p.first_round = first_round;
                 p.keep = keep;
                 p.min_width = min_width;
                 p.max_doublings = max_doublings;
                 return hz::Zoom(axes, p);
             }),
             "axes"_a, "round_size"_a = 0, "first_round"_a = 0, "keep"_a = 0.5,
             "min_width"_a = 0.05, "max_doublings"_a = 16)
        .def_property_readonly("coarse", &hz::Zoom::coarse)
        .def_property_readonly("round_size", &hz::Zoom::round_size)
        .def_property_readonly("run", &hz::Zoom::run)
        .def_property_readonly("round", &hz::Zoom::round)
        .def_property_readonly("sigma", &hz::Zoom::sigma)
        .def_property_readonly("event", &hz::Zoom::last_event)
        .def(
            "sample",
            [](hz::Zoom& z, const c_double& v, int workers) {
                const auto n = static_cast<py::ssize_t>(z.round_size());
                const auto d = static_cast<py::ssize_t>(z.d());
                require(v.ndim() == 2 && v.shape(0) == n && v.shape(1) == d,
                        "`v` must have shape (round_size, d).");
                py::array_t<double> u({n, d});
                double* up = u.mutable_data();
                {
                    py::gil_scoped_release release;  // pure C++ from here on
                    z.sample(v.data(), up, workers);
                }
                return u;
            },
            "v"_a, "workers"_a = 1, "The current round's unit rows from a design v in [0, 1]^d.")
        .def(
            "raw",
            [](const hz::Zoom& z) {
                const auto& r = z.raw();
                const auto p = static_cast<py::ssize_t>(z.ordered().size());
                py::array_t<double> out({p == 0 ? py::ssize_t{0} : static_cast<py::ssize_t>(r.size()) / p, p});
                std::copy(r.begin(), r.end(), out.mutable_data());
                return out;
            },
            "The current round's draws before mirroring, (round_size, p).")
        .def(
            "observe",
            [](hz::Zoom& z, const c_double& unit, const c_double& raw, const c_double& values) {
                require(values.ndim() == 1, "`values` must be one-dimensional.");
                const auto n = values.shape(0);
                const auto d = static_cast<py::ssize_t>(z.d());
                const auto p = static_cast<py::ssize_t>(z.ordered().size());
                require(unit.ndim() == 2 && unit.shape(0) == n && unit.shape(1) == d,
                        "`unit` must have shape (n, d), one row per value.");
                require(raw.ndim() == 2 && raw.shape(0) == n && raw.shape(1) == p,
                        "`raw` must have shape (n, p), one row per value.");
                py::gil_scoped_release release;  // pure C++ from here on
                return z.observe(unit.data(), raw.data(), values.data(), static_cast<std::size_t>(n));
            },
            "unit"_a, "raw"_a, "values"_a,
            "Learn from points drawn from whatever region (asynchronous): round_size of them "
            "in a coarse round, at least round_size in a zoomed one.")
        .def(
            "tell",
            [](hz::Zoom& z, const c_double& values) {
                require(values.ndim() == 1, "`values` must be one-dimensional.");
                const auto n = static_cast<std::size_t>(values.shape(0));
                py::gil_scoped_release release;  // pure C++ from here on
                return z.tell(values.data(), n);
            },
            "values"_a, "The current round's values (NaN: failed); returns how many were finite.")
        .def("region",
             [](const hz::Zoom& z) {
                 const auto d = static_cast<py::ssize_t>(z.d());
                 py::array_t<double> lo(d), hi(d);
                 z.bounds(lo.mutable_data(), hi.mutable_data());
                 const auto& al = z.allowed();
                 py::array_t<bool> allowed(static_cast<py::ssize_t>(al.size()));
                 for (std::size_t i = 0; i < al.size(); ++i) allowed.mutable_data()[i] = al[i] != 0;
                 const std::vector<double> c = z.center(), b = z.basis(), h = z.half_widths();
                 const auto p = static_cast<py::ssize_t>(h.size());
                 py::array_t<double> center(d), basis({p, p}), half(p);
                 std::copy(c.begin(), c.end(), center.mutable_data());
                 std::copy(b.begin(), b.end(), basis.mutable_data());
                 std::copy(h.begin(), h.end(), half.mutable_data());
                 py::array_t<std::int64_t> ordered(p);
                 for (py::ssize_t a = 0; a < p; ++a)
                     ordered.mutable_data()[a] = static_cast<std::int64_t>(z.ordered()[static_cast<std::size_t>(a)]);
                 return py::make_tuple(lo, hi, allowed, center, basis, half, ordered);
             },
             "(lo, hi, allowed, center, basis, half_widths, ordered) of the current region.");
}
