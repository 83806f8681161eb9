// register_random.cpp: bindings of random.hpp.
#include "hyperzoom/parallel.hpp"
#include "hyperzoom/random.hpp"
#include "pybind11.hpp"

namespace hz = hyperzoom;
using hz::bindings::c_uint32;
using hz::bindings::require;

namespace hyperzoom::bindings {
Stream stream_from(const c_uint32& seed, std::uint32_t stream) {
    require(seed.ndim() == 1 && seed.shape(0) == 3, "`seed` must have shape (3,).");
    const auto* s = seed.data();
    return Stream{s[0], s[1], s[2], stream};
}
}  // namespace hyperzoom::bindings

void register_random(py::module_& m) {
    m.def(
        "philox4x32_10",
        [](const c_uint32& counter, const c_uint32& key) {
            require(counter.ndim() == 1 && counter.shape(0) == 4, "`counter` must have shape (4,).");
            require(key.ndim() == 1 && key.shape(0) == 2, "`key` must have shape (2,).");
            const auto* c = counter.data();
            const auto* k = key.data();
            const hz::Counter4 out = hz::philox4x32_10({c[0], c[1], c[2], c[3]}, {k[0], k[1]});
            py::array_t<std::uint32_t> result(4);
            std::copy(out.begin(), out.end(), result.mutable_data());
            return result;
        },
        "counter"_a, "key"_a, "One Philox4x32-10 block.");

    m.def(
        "bits",
        [](const c_uint32& seed, std::uint32_t stream, std::uint64_t first, std::int64_t n) {
            hz::bindings::require_rows(n, 1, "n");
            const hz::Stream s = hz::bindings::stream_from(seed, stream);
            py::array_t<std::uint64_t> out(n);
            auto* p = out.mutable_data();
            py::gil_scoped_release release;  // pure C++ from here on
            hz::fill_bits(s, first, static_cast<std::size_t>(n), p);
            return out;
        },
        "seed"_a, "stream"_a, "first"_a, "n"_a, "Words first..first+n of a stream.");

    m.def(
        "uniform",
        [](const c_uint32& seed, std::uint32_t stream, std::uint64_t first, std::int64_t n,
           int workers) {
            hz::bindings::require_rows(n, 1, "n");
            const hz::Stream s = hz::bindings::stream_from(seed, stream);
            py::array_t<double> out(n);
            auto* p = out.mutable_data();
            py::gil_scoped_release release;  // pure C++ from here on
            hz::parallel_for(static_cast<std::size_t>(n), workers, 1 << 16, 16,
                             [&](std::size_t b, std::size_t e) {
                                 hz::fill_uniform(s, first + b, e - b, p + b);
                             });
            return out;
        },
        "seed"_a, "stream"_a, "first"_a, "n"_a, "workers"_a = 1,
        "Doubles in [0, 1) of indices first..first+n of a stream.");

    m.def(
        "bounded",
        [](const c_uint32& seed, std::uint32_t stream, std::uint64_t first, std::uint64_t bound,
           std::int64_t n) {
            hz::bindings::require_rows(n, 1, "n");
            require(bound >= 1, "`bound` must be >= 1.");
            const hz::Stream s = hz::bindings::stream_from(seed, stream);
            py::array_t<std::uint64_t> out(n);
            auto* p = out.mutable_data();
            std::uint64_t index = first;
            {
                py::gil_scoped_release release;  // pure C++ from here on
                for (std::int64_t i = 0; i < n; ++i) p[i] = hz::bounded_at(s, bound, &index);
            }
            return py::make_tuple(out, index);
        },
        "seed"_a, "stream"_a, "first"_a, "bound"_a, "n"_a,
        "n unbiased integers in [0, bound), and the next unused word index.");

    m.def("simd_level", &hz::simd_level, "The SIMD path in use: 0 scalar, 1 AVX2, 2 AVX-512.");
    m.def("detected_simd_level", &hz::detected_simd_level, "The best SIMD path this CPU has.");
    m.def("_set_simd_level", &hz::set_simd_level, "level"_a,
          "Force a lower SIMD path (tests use it to compare paths bit for bit).");
}
