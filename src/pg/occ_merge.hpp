// Which columns each UPDATE action of a running MERGE sets.
//
// A row trigger's tg_updatedcols is, for MERGE, the union of the columns of every
// UPDATE action (PostgreSQL 15 takes them from the target's range table entry), so
// the OCC trigger cannot tell from it whether the action that fired set the
// version column. The executor hooks here keep, for each executor running in the
// backend, the tables it modifies, whether it is a MERGE and the columns each of
// its UPDATE actions sets, by name (partitions number their columns otherwise).
#pragma once

#include <string>

#include "pg/pg_headers.hpp"

namespace ce::pg {

// Installs the executor hooks and the (sub)transaction callbacks that drop the
// entries of executors an error ended (_PG_init).
void install_merge_tracking();

enum class MergeSets {
    not_merge,  // the innermost running executor is no MERGE
    every,      // a MERGE whose UPDATE actions all set the column
    not_every,  // a MERGE with an UPDATE action that does not set it
    unknown,    // a MERGE begun before the library was loaded: its actions are unknown
};

// For the running executor that modifies `relid` (the one whose row trigger is
// firing: the latest started among those that modify it): whether it is a MERGE
// whose every UPDATE action sets `column`.
MergeSets merge_sets_column(Oid relid, const std::string& column);
// Whether that executor is a MERGE that may leave `column` unset in the row being
// updated (not_every or unknown).
inline bool merge_may_leave_unset(Oid relid, const std::string& column) {
    MergeSets m = merge_sets_column(relid, column);
    return m == MergeSets::not_every || m == MergeSets::unknown;
}

}  // namespace ce::pg
