// register_importance.cpp: bindings of importance.hpp.
#include "hyperzoom/importance.hpp"
#include "pybind11.hpp"

namespace hz = hyperzoom;
using hz::bindings::c_double;
using hz::bindings::c_uint32;
using hz::bindings::require;


void register_importance(py::module_& m) {
    m.def(
        "importance",
        [](const hz::Axes& axes, const c_double& unit, const c_double& y, std::int64_t bins,
           std::int64_t n_boot, const c_uint32& seed, int workers) {
            require(unit.ndim() == 2 && static_cast<std::size_t>(unit.shape(1)) == axes.d(),
                    "`unit` must have shape (n, d).");
            require(y.ndim() == 1 && y.shape(0) == unit.shape(0), "`y` must have shape (n,).");
            require(bins >= 1, "`bins` must be >= 1.");
            require(n_boot >= 0, "`n_boot` must be >= 0.");
            const hz::Stream s = hz::bindings::stream_from(seed, 0x30000u);
            hz::ImportanceOutput out;
            {
                py::gil_scoped_release release;  // pure C++ from here on
                out = hz::importance(axes, unit.data(), y.data(), static_cast<std::size_t>(y.shape(0)),
                                     static_cast<std::size_t>(bins), static_cast<std::size_t>(n_boot), s,
                                     workers);
            }
            const auto d = static_cast<py::ssize_t>(axes.d());
            py::array_t<double> share(d);
            std::copy(out.share.begin(), out.share.end(), share.mutable_data());
            py::array_t<double> boot({static_cast<py::ssize_t>(n_boot), d});
            std::copy(out.boot.begin(), out.boot.end(), boot.mutable_data());
            return py::make_tuple(share, boot);
        },
        "axes"_a, "unit"_a, "y"_a, "bins"_a, "n_boot"_a, "seed"_a, "workers"_a = 1,
        "Main-effect variance shares (d,) and bootstrap replicates (n_boot, d).");
}
