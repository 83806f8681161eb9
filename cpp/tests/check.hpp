// check.hpp: the CHECK macro and failure count shared by the C++ test programs.
#pragma once

#include <cstdio>

namespace hyperzoom::testing {
inline int failures = 0;
}  // namespace hyperzoom::testing

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            ++hyperzoom::testing::failures;                                           \
        }                                                                             \
    } while (0)
