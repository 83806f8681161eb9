// register_schedule.cpp: bindings of schedule.hpp.
#include <optional>
#include <vector>

#include "hyperzoom/schedule.hpp"
#include "pybind11.hpp"

namespace hz = hyperzoom;
using hz::bindings::c_double;
using hz::bindings::c_int64;
using hz::bindings::c_uint32;
using hz::bindings::require;


namespace {

py::tuple rungs_out(const std::vector<hz::Rung>& rungs) {
    const auto k = static_cast<py::ssize_t>(rungs.size());
    py::array_t<std::int64_t> n(k);
    py::array_t<double> budget(k);
    for (std::size_t i = 0; i < rungs.size(); ++i) {
        n.mutable_data()[i] = rungs[i].n;
        budget.mutable_data()[i] = rungs[i].budget;
    }
    return py::make_tuple(n, budget);
}

// The explore axes of a space, built once per PBT run.
struct ExploreAxes {
    std::vector<hz::ExploreAxis> axes;
};

}  // namespace

void register_schedule(py::module_& m) {
    m.def("max_halvings", &hz::max_halvings, "min_budget"_a, "max_budget"_a, "eta"_a,
          "The largest s with min_budget * eta^s <= max_budget.");
    m.def(
        "sh_rungs",
        [](std::int64_t n, double min_budget, double max_budget, std::int64_t eta) {
            return rungs_out(hz::sh_rungs(n, min_budget, max_budget, eta));
        },
        "n"_a, "min_budget"_a, "max_budget"_a, "eta"_a,
        "A successive-halving bracket: (runs, budget) per rung.");
    m.def(
        "hyperband_brackets",
        [](double min_budget, double max_budget, std::int64_t eta) {
            py::list out;
            for (const auto& b : hz::hyperband_brackets(min_budget, max_budget, eta))
                out.append(rungs_out(b));
            return out;
        },
        "min_budget"_a, "max_budget"_a, "eta"_a,
        "Hyperband's brackets, most aggressive first: (runs, budget) per rung.");
    m.def(
        "promote_top",
        [](const c_double& loss, const c_int64& ids, std::int64_t k) {
            require(loss.ndim() == 1 && ids.ndim() == 1 && loss.shape(0) == ids.shape(0),
                    "`loss` and `ids` must be 1-D arrays of the same length.");
            require(k >= 0, "`k` must be >= 0.");
            const auto n = static_cast<std::size_t>(loss.shape(0));
            std::vector<std::int64_t> out(std::min(static_cast<std::size_t>(k), n));
            std::size_t got = 0;
            {
                py::gil_scoped_release release;  // pure C++ from here on
                got = hz::promote_top(loss.data(), ids.data(), n, out.size(), out.data());
            }
            py::array_t<std::int64_t> result(static_cast<py::ssize_t>(got));
            std::copy(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(got),
                      result.mutable_data());
            return result;
        },
        "loss"_a, "ids"_a, "k"_a, "Indices of the k best runs (ties by id, NaN never), best first.");

    py::class_<hz::AshaRungs>(m, "AshaRungs")
        .def(py::init<std::size_t, std::int64_t>(), "n_rungs"_a, "eta"_a)
        .def("report", &hz::AshaRungs::report, "id"_a, "rung"_a, "loss"_a,
             "Record a result of run `id` at `rung` (NaN: failed).")
        .def(
            "next_promotion",
            [](hz::AshaRungs& a) -> std::optional<std::pair<std::int64_t, std::size_t>> {
                std::int64_t id = -1;
                std::size_t rung = 0;
                if (!a.next_promotion(&id, &rung)) return std::nullopt;
                return std::make_pair(id, rung);
            },
            "(id, rung it leaves) of the promotion due, highest rung first; None if none.")
        .def_property_readonly("n_rungs", &hz::AshaRungs::n_rungs)
        .def("size", &hz::AshaRungs::size, "rung"_a, "Results reported at a rung.")
        .def("promoted", &hz::AshaRungs::promoted, "rung"_a, "Runs promoted from a rung.");

    py::class_<ExploreAxes>(m, "ExploreAxes")
        .def(py::init([](const c_int64& modes, const c_int64& cells, const c_double& lo,
                         const c_double& hi, const std::vector<std::optional<c_double>>& edges) {
                 const auto d = static_cast<std::size_t>(modes.size());
                 require(modes.ndim() == 1 && static_cast<std::size_t>(cells.size()) == d &&
                             static_cast<std::size_t>(lo.size()) == d &&
                             static_cast<std::size_t>(hi.size()) == d && edges.size() == d,
                         "`modes`, `cells`, `lo`, `hi` and `edges` must all have length d.");
                 ExploreAxes out;
                 for (std::size_t j = 0; j < d; ++j) {
                     hz::ExploreAxis a;
                     a.mode = static_cast<int>(modes.data()[j]);
                     a.k = cells.data()[j];
                     a.lo = lo.data()[j];
                     a.hi = hi.data()[j];
                     require(a.mode >= 0 && a.mode <= 3, "unknown explore mode.");
                     require(a.mode == 0 || a.k >= 1, "a cell axis needs `cells` >= 1.");
                     require(a.mode != 2 || (a.lo >= 1.0 && a.hi >= a.lo),
                             "an int_log axis needs 1 <= lo <= hi.");
                     if (a.mode == 3) {
                         require(edges[j].has_value(), "an edges axis needs its edges.");
                         const auto& e = *edges[j];
                         a.edge_list.assign(e.data(), e.data() + e.size());
                         require(a.edge_list.size() == static_cast<std::size_t>(a.k) + 1 &&
                                     a.edge_list.front() == 0.0 && a.edge_list.back() == 1.0,
                                 "`edges` must hold k + 1 values from 0 to 1.");
                     }
                     out.axes.push_back(std::move(a));
                 }
                 return out;
             }),
             "modes"_a, "cells"_a, "lo"_a, "hi"_a, "edges"_a)
        .def_property_readonly("d", [](const ExploreAxes& a) { return a.axes.size(); })
        .def(
            "pbt_step",
            [](const ExploreAxes& a, const c_double& unit, const c_double& loss, double quantile,
               double perturb, double resample, const c_uint32& seed, std::uint64_t step) {
                const auto d = static_cast<py::ssize_t>(a.axes.size());
                require(unit.ndim() == 2 && unit.shape(1) == d, "`unit` must have shape (n, d).");
                require(loss.ndim() == 1 && loss.shape(0) == unit.shape(0),
                        "`loss` must have shape (n,).");
                const auto n = static_cast<std::size_t>(unit.shape(0));
                const hz::Stream stream = hz::bindings::stream_from(seed, 0);
                const std::size_t m = hz::pbt_quantile_count(n, quantile);
                py::array_t<std::int64_t> bottom(static_cast<py::ssize_t>(m));
                py::array_t<std::int64_t> donor(static_cast<py::ssize_t>(m));
                py::array_t<double> rows({static_cast<py::ssize_t>(m), d});
                auto* bp = bottom.mutable_data();
                auto* dp = donor.mutable_data();
                auto* rp = rows.mutable_data();
                {
                    py::gil_scoped_release release;  // pure C++ from here on
                    hz::pbt_step(a.axes, unit.data(), loss.data(), n,
                                 hz::PbtParams{quantile, perturb, resample}, stream, step, bp, dp,
                                 rp);
                }
                return py::make_tuple(bottom, donor, rows);
            },
            "unit"_a, "loss"_a, "quantile"_a, "perturb"_a, "resample"_a, "seed"_a, "step"_a,
            "One exploit/explore step: (bottom members, their donors, new unit rows).")
        .def(
            "explore",
            [](const ExploreAxes& a, const c_double& unit, const c_int64& member, std::int64_t n,
               double perturb, double resample, const c_uint32& seed, std::uint64_t step) {
                const auto d = static_cast<py::ssize_t>(a.axes.size());
                require(unit.ndim() == 2 && unit.shape(1) == d, "`unit` must have shape (m, d).");
                require(member.ndim() == 1 && member.shape(0) == unit.shape(0),
                        "`member` must have shape (m,).");
                const hz::Stream stream = hz::bindings::stream_from(seed, 0);
                py::array_t<double> out({unit.shape(0), d});
                auto* op = out.mutable_data();
                {
                    py::gil_scoped_release release;  // pure C++ from here on
                    hz::pbt_explore(a.axes, unit.data(), static_cast<std::size_t>(unit.shape(0)),
                                    member.data(), static_cast<std::size_t>(n),
                                    hz::PbtParams{0.25, perturb, resample}, stream, step, op);
                }
                return out;
            },
            "unit"_a, "member"_a, "n"_a, "perturb"_a, "resample"_a, "seed"_a, "step"_a,
            "The perturbation pbt_step applies, alone.");
}
