// register_scales.cpp: bindings of scales.hpp: a compiled space of columns.
#include <optional>
#include <vector>

#include "hyperzoom/conditions.hpp"
#include "hyperzoom/scales.hpp"
#include "pybind11.hpp"

namespace hz = hyperzoom;
using hz::bindings::c_double;
using hz::bindings::c_int64;
using hz::bindings::c_uint32;
using hz::bindings::require;


namespace {

struct CompiledSpace {
    std::vector<hz::Column> cols;

    CompiledSpace(const c_int64& kinds, const c_double& low, const c_double& high,
                  const std::vector<std::optional<c_double>>& cum) {
        const auto d = static_cast<std::size_t>(kinds.size());
        require(kinds.ndim() == 1 && low.ndim() == 1 && high.ndim() == 1 &&
                    static_cast<std::size_t>(low.size()) == d &&
                    static_cast<std::size_t>(high.size()) == d && cum.size() == d,
                "`kinds`, `low`, `high` and `cum` must all have length d.");
        cols.resize(d);
        for (std::size_t j = 0; j < d; ++j) {
            auto& c = cols[j];
            const std::int64_t k = kinds.data()[j];
            require(k >= 0 && k <= 6, "unknown column kind " + std::to_string(k) + ".");
            c.kind = static_cast<hz::Kind>(k);
            c.lo = low.data()[j];
            c.hi = high.data()[j];
            if (cum[j]) {
                const auto& w = *cum[j];
                c.cum.assign(w.data(), w.data() + w.size());
            }
            try {
                hz::prepare(c);
            } catch (const std::invalid_argument& e) {
                throw std::invalid_argument("column " + std::to_string(j) + ": " + e.what());
            }
        }
    }

    [[nodiscard]] std::size_t d() const { return cols.size(); }

    // One output array per column: float64 or int64 by kind.
    std::pair<py::list, std::vector<hz::ColumnData>> allocate(std::size_t n) const {
        py::list arrays;
        std::vector<hz::ColumnData> data(cols.size());
        const auto len = static_cast<py::ssize_t>(n);
        for (std::size_t j = 0; j < cols.size(); ++j) {
            if (cols[j].is_integer()) {
                py::array_t<std::int64_t> a(len);
                data[j].i = a.mutable_data();
                arrays.append(a);
            } else {
                py::array_t<double> a(len);
                data[j].f = a.mutable_data();
                arrays.append(a);
            }
        }
        return {arrays, data};
    }
};

}  // namespace

// The flat index of the first value outside [lo, hi] (NaN is outside), or -1. One pass,
// no temporaries: the range check of a call for one value costs what the call costs.
template <class T>
std::int64_t first_outside(const T* x, std::size_t n, T lo, T hi) {
    for (std::size_t i = 0; i < n; ++i)
        if (!(x[i] >= lo && x[i] <= hi)) return static_cast<std::int64_t>(i);
    return -1;
}

void register_scales(py::module_& m) {
    m.def(
        "first_outside",
        [](const py::array& x, double lo, double hi) -> std::int64_t {
            // Contiguous float64 only; the caller converts (and refuses other kinds).
            const auto n = static_cast<std::size_t>(x.size());
            if (!(x.flags() & py::array::c_style) || !x.dtype().is(py::dtype::of<double>()))
                throw std::invalid_argument("`x` must be a C-contiguous float64 array.");
            const auto* p = static_cast<const double*>(x.data());
            py::gil_scoped_release release;  // pure C++ from here on
            return first_outside(p, n, lo, hi);
        },
        "x"_a, "lo"_a, "hi"_a, "Index of the first value outside [lo, hi] (NaN too), or -1.");
    m.def(
        "first_outside_int",
        [](const py::array& x, std::int64_t lo, std::int64_t hi) -> std::int64_t {
            const auto n = static_cast<std::size_t>(x.size());
            if (!(x.flags() & py::array::c_style) || !x.dtype().is(py::dtype::of<std::int64_t>()))
                throw std::invalid_argument("`x` must be a C-contiguous int64 array.");
            const auto* p = static_cast<const std::int64_t*>(x.data());
            py::gil_scoped_release release;  // pure C++ from here on
            return first_outside(p, n, lo, hi);
        },
        "x"_a, "lo"_a, "hi"_a, "Index of the first value outside [lo, hi], or -1.");
    py::class_<CompiledSpace>(m, "CompiledSpace")
        .def(py::init<const c_int64&, const c_double&, const c_double&,
                      const std::vector<std::optional<c_double>>&>(),
             "kinds"_a, "low"_a, "high"_a, "cum"_a)
        .def_property_readonly("d", &CompiledSpace::d)
        .def(
            "sample",
            [](const CompiledSpace& s, const c_uint32& seed, std::int64_t n, int workers,
               bool with_unit) {
                hz::bindings::require_rows(n, static_cast<std::int64_t>(s.d()), "n");
                const hz::Stream stream = hz::bindings::stream_from(seed, 0);
                const auto un = static_cast<std::size_t>(n);
                auto [arrays, data] = s.allocate(un);
                py::object unit = py::none();
                double* up = nullptr;
                if (with_unit) {
                    py::array_t<double> u({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(s.d())});
                    up = u.mutable_data();
                    unit = u;
                }
                {
                    py::gil_scoped_release release;  // pure C++ from here on
                    hz::space_sample(s.cols, stream, un, up, data, workers);
                }
                return py::make_tuple(unit, arrays);
            },
            "seed"_a, "n"_a, "workers"_a = 1, "with_unit"_a = true,
            "Random sample: (unit (n, d) or None, [column arrays]).")
        .def(
            "sample_conditional",
            [](const CompiledSpace& s, const hz::Conditions& c, const c_uint32& seed,
               std::int64_t n, std::size_t max_attempts, int workers, bool with_unit) {
                require(c.d == s.d(), "`conditions` must describe a space of d parameters.");
                hz::bindings::require_rows(n, static_cast<std::int64_t>(s.d()), "n");
                const hz::Stream stream = hz::bindings::stream_from(seed, 0);
                const auto un = static_cast<std::size_t>(n);
                auto [arrays, data] = s.allocate(un);
                py::object unit = py::none();
                double* up = nullptr;
                if (with_unit) {
                    py::array_t<double> u({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(s.d())});
                    up = u.mutable_data();
                    unit = u;
                }
                py::list masks;
                std::vector<std::uint8_t*> inactive(s.d(), nullptr);
                for (std::size_t j = 0; j < s.d(); ++j) {
                    if (c.when[j].empty()) {
                        masks.append(py::none());
                        continue;
                    }
                    py::array_t<bool> mask(static_cast<py::ssize_t>(n));
                    inactive[j] = reinterpret_cast<std::uint8_t*>(mask.mutable_data());
                    masks.append(mask);
                }
                std::size_t stuck = 0;
                {
                    py::gil_scoped_release release;  // pure C++ from here on
                    stuck = hz::space_sample_conditional(s.cols, c, stream, un, up, data,
                                                         inactive, max_attempts, workers);
                }
                return py::make_tuple(unit, arrays, masks, stuck);
            },
            "conditions"_a, "seed"_a, "n"_a, "max_attempts"_a, "workers"_a = 1,
            "with_unit"_a = true,
            "Random sample of a conditional space: (unit (n, d) or None, [columns], "
            "[inactive masks or None per column], rows still forbidden).")
        .def(
            "sample_unit",
            [](const CompiledSpace& s, const c_uint32& seed, std::int64_t n, int workers) {
                hz::bindings::require_rows(n, static_cast<std::int64_t>(s.d()), "n");
                const hz::Stream stream = hz::bindings::stream_from(seed, 0);
                py::array_t<double> u({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(s.d())});
                double* up = u.mutable_data();
                {
                    py::gil_scoped_release release;  // pure C++ from here on
                    hz::space_sample_unit(s.d(), stream, static_cast<std::size_t>(n), up, workers);
                }
                return u;
            },
            "seed"_a, "n"_a, "workers"_a = 1,
            "The unit coordinates sample() draws, alone: (n, d).")
        .def(
            "from_unit",
            [](const CompiledSpace& s, const c_double& unit, int workers, bool missing) {
                require(unit.ndim() == 2 && static_cast<std::size_t>(unit.shape(1)) == s.d(),
                        "`unit` must have shape (n, d).");
                const auto n = static_cast<std::size_t>(unit.shape(0));
                auto [arrays, data] = s.allocate(n);
                const double* up = unit.data();
                {
                    py::gil_scoped_release release;  // pure C++ from here on
                    if (missing) {
                        hz::space_from_unit_missing(s.cols, up, n, data, workers);
                    } else {
                        hz::space_from_unit(s.cols, up, n, data, workers);
                    }
                }
                return arrays;
            },
            "unit"_a, "workers"_a = 1, "missing"_a = false,
            "Unit coordinates (n, d) -> [column arrays]; with `missing`, NaN marks an "
            "inactive entry (NaN in float columns, 0 in integer ones).")
        .def(
            "to_unit",
            [](const CompiledSpace& s, const py::list& columns, std::int64_t n, int workers) {
                require(columns.size() == s.d(), "`columns` must hold d arrays.");
                std::vector<py::array> keep;
                std::vector<hz::ColumnData> data(s.d());
                for (std::size_t j = 0; j < s.d(); ++j) {
                    if (s.cols[j].is_integer()) {
                        auto a = c_int64::ensure(columns[j]);
                        require(a && a.ndim() == 1 && a.shape(0) == n, "column " + std::to_string(j) + " must be int64 of shape (n,).");
                        data[j].i = const_cast<std::int64_t*>(a.data());
                        keep.emplace_back(a);
                    } else {
                        auto a = c_double::ensure(columns[j]);
                        require(a && a.ndim() == 1 && a.shape(0) == n, "column " + std::to_string(j) + " must be float64 of shape (n,).");
                        data[j].f = const_cast<double*>(a.data());
                        keep.emplace_back(a);
                    }
                }
                py::array_t<double> unit({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(s.d())});
                double* up = unit.mutable_data();
                {
                    py::gil_scoped_release release;  // pure C++ from here on
                    hz::space_to_unit(s.cols, data, static_cast<std::size_t>(n), up, workers);
                }
                return unit;
            },
            "columns"_a, "n"_a, "workers"_a = 1, "[column arrays] -> unit coordinates (n, d).");
}
