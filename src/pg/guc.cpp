#include "pg/guc.hpp"

#include "pg/pg_headers.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace ce::pg {

int guc_max_input_kb = 64 * 1024;  // 64 MB

void define_gucs() {
    DefineCustomIntVariable(
        "concurrent_edit.max_input_size",
        "Largest text (per argument) accepted by merge, diff and write functions.",
        "Larger inputs are refused with SQLSTATE 54000 before any work is done.",
        &guc_max_input_kb, 64 * 1024, 1, MAX_KILOBYTES, PGC_USERSET, GUC_UNIT_KB, nullptr, nullptr,
        nullptr);
    MarkGUCPrefixReserved("concurrent_edit");
}

}  // namespace ce::pg
