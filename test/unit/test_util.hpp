// Helpers shared by the GoogleTest suites of the core.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "concurrent_edit/error.hpp"

// Asserts that `stmt` throws ce::Error with kind `errc`.
#define EXPECT_CE_ERROR(stmt, errc)                                                  \
    do {                                                                             \
        try {                                                                        \
            stmt;                                                                    \
            ADD_FAILURE() << "expected ce::Error(" #errc ") from: " #stmt;           \
        } catch (const ce::Error& e) {                                               \
            EXPECT_EQ(e.code(), errc) << "message: " << e.what();                    \
        }                                                                            \
    } while (0)
