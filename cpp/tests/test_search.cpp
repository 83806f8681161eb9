// test_search.cpp: the coarse-to-fine state machine (search.hpp), without Python.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "hyperzoom/search.hpp"

namespace hz = hyperzoom;

using hyperzoom::testing::failures;

namespace {

// A deterministic design in [0, 1)^d (a scrambled lattice: enough for these tests).
std::vector<double> design(std::size_t n, std::size_t d, std::size_t salt) {
    std::vector<double> v(n * d);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < d; ++j) {
            const double x = std::sin(static_cast<double>((i + 1) * 7919 + (j + 1) * 104729 + salt * 1299709)) * 43758.5453;
            v[i * d + j] = x - std::floor(x);
        }
    return v;
}

hz::Axes continuous(std::size_t d) {
    hz::Axes a;
    a.cells.assign(d, 0);
    a.edges.assign(d, {});
    return a;
}

double sphere(const double* u, std::size_t d) {
    double s = 0.0;
    for (std::size_t j = 0; j < d; ++j) s += (u[j] - 0.3) * (u[j] - 0.3);
    return s;
}

// Runs the machine for `budget` points; returns the best value (and each round's sizes).
double run(hz::Zoom& z, std::size_t budget, std::vector<std::size_t>* sizes = nullptr) {
    const std::size_t d = z.d();
    double best = INFINITY;
    std::size_t used = 0, salt = 0;
    while (used < budget) {
        const std::size_t n = z.round_size();
        if (sizes) sizes->push_back(n);
        const std::vector<double> v = design(n, d, salt++);
        std::vector<double> u(n * d), f(n);
        z.sample(v.data(), u.data(), 1);
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j < d; ++j) CHECK(u[i * d + j] >= 0.0 && u[i * d + j] <= 1.0);
            f[i] = sphere(&u[i * d], d);
            best = std::min(best, f[i]);
        }
        z.tell(f.data(), n);
        used += n;
    }
    return best;
}

}  // namespace

int main() {
    // Jacobi: a known 3 x 3 symmetric matrix (eigenvalues 1, 2, 4).
    {
        std::vector<double> a{3, -1, 0, -1, 3, 0, 0, 0, 1}, w, v;
        hz::eigen_symmetric(a, 3, w, v);
        CHECK(std::fabs(w[0] - 1.0) < 1e-12 && std::fabs(w[1] - 2.0) < 1e-12 &&
              std::fabs(w[2] - 4.0) < 1e-12);
        // columns are orthonormal eigenvectors of the original matrix
        const std::vector<double> m{3, -1, 0, -1, 3, 0, 0, 0, 1};
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t r = 0; r < 3; ++r) {
                double mv = 0.0;
                for (std::size_t k = 0; k < 3; ++k) mv += m[r * 3 + k] * v[k * 3 + c];
                CHECK(std::fabs(mv - w[c] * v[r * 3 + c]) < 1e-12);
            }
    }
    // A sphere is solved far below the first region's width.
    {
        hz::Zoom z(continuous(4), hz::ZoomParams{});
        CHECK(run(z, 3000) < 1e-12);
        CHECK(z.run() >= 1);  // it converged, so it restarted to look elsewhere
        hz::Zoom y(continuous(4), hz::ZoomParams{});
        run(y, 600);
        CHECK(y.run() == 0);
        const std::vector<double> h = y.half_widths();
        CHECK(*std::max_element(h.begin(), h.end()) < 0.05 / 10);  // far below min_width
    }
    // The same inputs give the same bits; round sizes never depend on anything but the
    // schedule (coarse first, then zoomed rounds, doubling at each restart).
    {
        hz::Zoom a(continuous(3), hz::ZoomParams{}), b(continuous(3), hz::ZoomParams{});
        std::vector<std::size_t> sa, sb;
        CHECK(run(a, 4000, &sa) == run(b, 4000, &sb));
        CHECK(sa == sb);
        CHECK(sa[0] == 10 && sa[1] == 7);  // max(10, 2d+4) then 4 + floor(3 ln 3)
        // every round is a coarse (10 << k) or zoomed (7 << k) round of run k
        for (std::size_t n : sa) {
            bool ok = false;
            for (std::size_t k = 0; k <= a.run(); ++k) ok = ok || n == (10u << k) || n == (7u << k);
            CHECK(ok);
        }
        CHECK(a.run() >= 1);  // converged at least once and restarted
    }
    // Asynchronous updates (observe): the step size follows the selection among the points,
    // not how far they lie from the current region. The same draws at half their distance
    // from the centre (as if drawn from a region half as wide), with the same values, move
    // the step size exactly as the round's own draws do (an older, wider region's draws are
    // no longer taken for long steps).
    {
        hz::Zoom a(continuous(3), hz::ZoomParams{}), b(continuous(3), hz::ZoomParams{});
        run(a, 10 + 7 + 7);  // a coarse round, then two zoomed ones
        run(b, 10 + 7 + 7);
        CHECK(!a.coarse() && a.sigma() == b.sigma());
        const std::size_t n = a.round_size(), d = a.d();
        const std::vector<double> v = design(n, d, 99);
        std::vector<double> u(n * d), ub(n * d), f(n);
        a.sample(v.data(), u.data(), 1);
        b.sample(v.data(), ub.data(), 1);
        const std::vector<double> raw = a.raw(), m = a.center();
        std::vector<double> half(raw);
        for (std::size_t i = 0; i < n; ++i) {
            f[i] = sphere(&u[i * d], d);
            for (std::size_t j = 0; j < d; ++j) half[i * d + j] = m[j] + 0.5 * (raw[i * d + j] - m[j]);
        }
        const double before = a.sigma();
        a.observe(u.data(), raw.data(), f.data(), n);
        b.observe(u.data(), half.data(), f.data(), n);
        CHECK(a.sigma() != before);
        CHECK(std::fabs(a.sigma() - b.sigma()) <= 1e-12 * a.sigma());
        // A zoomed update takes at least a round's points (more when more are in flight),
        // a coarse one exactly a round's.
        a.sample(v.data(), u.data(), 1);
        std::vector<double> u2(u), raw2(a.raw()), f2(f);
        for (std::size_t i = 0; i < 3; ++i) {
            u2.insert(u2.end(), u.begin() + static_cast<std::ptrdiff_t>(i * d),
                      u.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
            raw2.insert(raw2.end(), raw2.begin() + static_cast<std::ptrdiff_t>(i * d),
                        raw2.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
            f2.push_back(f[i]);
        }
        CHECK(a.observe(u2.data(), raw2.data(), f2.data(), n + 3) == n + 3);
        bool threw = false;
        try {
            a.observe(u.data(), raw2.data(), f.data(), n - 1);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
        hz::Zoom c(continuous(3), hz::ZoomParams{});
        const std::vector<double> vc = design(11, d, 5);
        std::vector<double> uc(vc), fc(11, 1.0);
        threw = false;
        try {
            c.observe(uc.data(), vc.data(), fc.data(), 11);  // the coarse round has 10 points
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
    }
    // Bad settings are refused with std::invalid_argument.
    {
        bool threw = false;
        try {
            hz::ZoomParams p;
            p.keep = 0.0;
            hz::Zoom z(continuous(2), p);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
        threw = false;
        try {
            hz::Zoom z(continuous(2), hz::ZoomParams{});
            std::vector<double> f(3, 1.0);
            z.tell(f.data(), 3);  // the coarse round has 10 points, not 3
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
    }
    if (failures) {
        std::fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    std::printf("all search checks passed\n");
    return 0;
}
