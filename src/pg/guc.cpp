#include "pg/guc.hpp"

#include "pg/pg_headers.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace ce::pg {

int guc_max_input_kb = 64 * 1024;  // 64 MB

namespace {
int guc_conflict_style = 0;
const struct config_enum_entry conflict_style_options[] = {
    {"merge", 0, false}, {"diff3", 1, false}, {"zdiff3", 2, false}, {nullptr, 0, false}};
}  // namespace

MergeStyle conflict_style() {
    switch (guc_conflict_style) {
        case 1: return MergeStyle::diff3;
        case 2: return MergeStyle::zdiff3;
        default: return MergeStyle::merge;
    }
}

void define_gucs() {
    DefineCustomIntVariable(
        "concurrent_edit.max_input_size",
        "Largest text (per argument) accepted by merge, diff and write functions.",
        "Larger inputs are refused with SQLSTATE 54000 before any work is done.",
        &guc_max_input_kb, 64 * 1024, 1, MAX_KILOBYTES, PGC_USERSET, GUC_UNIT_KB, nullptr, nullptr,
        nullptr);
    DefineCustomEnumVariable(
        "concurrent_edit.conflict_style",
        "Conflict marker style of the text write() returns for a conflict.",
        "merge (ours/theirs), diff3 (with the base) or zdiff3, as in git.",
        &guc_conflict_style, 0, conflict_style_options, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("concurrent_edit");
}

}  // namespace ce::pg
