// pybind11.hpp: the single pybind11 include point for the bindings, with the array
// aliases every register_*.cpp uses.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "hyperzoom/random.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace hyperzoom::bindings {

// C-contiguous inputs; forcecast converts only between compatible kinds (the Python layer
// has already refused lossy ones).
using c_double = py::array_t<double, py::array::c_style | py::array::forcecast>;
using c_int64 = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using c_uint32 = py::array_t<std::uint32_t, py::array::c_style | py::array::forcecast>;

inline void require(bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument(message);
}

// n rows of d doubles must be addressable (n * d * 8 < 2^62) before anything is allocated;
// the Python layer refuses sizes beyond memory first, with the argument's own name.
inline void require_rows(std::int64_t n, std::int64_t d, const char* name) {
    require(n >= 0, std::string("`") + name + "` must be >= 0, but got " + std::to_string(n) + ".");
    const auto width = static_cast<std::uint64_t>(d < 1 ? 1 : d);
    require(static_cast<std::uint64_t>(n) <= (std::uint64_t{1} << 59) / width,
            std::string("`") + name + "` = " + std::to_string(n) + " rows of " + std::to_string(d) +
                " columns is too large to allocate.");
}

// The Stream of three uint32 seed words (shape (3,)) and a stream id; register_random.cpp.
Stream stream_from(const c_uint32& seed, std::uint32_t stream);

}  // namespace hyperzoom::bindings
