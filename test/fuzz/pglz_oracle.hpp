// PostgreSQL's own pglz (src/common/pg_lzcompress.c), linked from libpgcommon.a:
// the oracle of the core's pglz decoder in test/unit/pglz_test.cpp and
// test/fuzz/pglz_fuzz.cpp. Declared here because the tests include no PostgreSQL
// header.
#pragma once

#include <cstdint>

struct PGLZ_Strategy;
extern "C" {
extern const PGLZ_Strategy* const PGLZ_strategy_always;
std::int32_t pglz_compress(const char* source, std::int32_t slen, char* dest, const PGLZ_Strategy* strategy);
std::int32_t pglz_decompress(const char* source, std::int32_t slen, char* dest, std::int32_t rawsize,
                             bool check_complete);
}
