// The configuration of an OCC trigger (its arguments, written by enable_occ(),
// src/sql/70_occ.sql), checked against the table at every call; and what the
// updating role may see of a row in an error.
//
// The trigger functions are executable by PUBLIC (CREATE TRIGGER needs it), so a
// table's owner can write any arguments by hand, and a table can change after
// enable_occ(): nothing the arguments say is trusted. Every column they name must
// exist, have the type enable_occ() requires and a role it may have (the
// modified-by/at columns are neither the version column nor a key column), or
// the call is refused before any value is written.
#pragma once

#include <string>
#include <vector>

#include "pg/boundary.hpp"

namespace ce::pg {

struct OccConfig {
    int version_att = 0;
    Oid version_type = InvalidOid;
    bool merge = false;
    bool strict = false;
    int modified_by_att = 0, modified_at_att = 0, project_att = 0;
    bool notify = false;
    bool merge_every_column = true;  // merge_columns NULL (every column but key, version, modified-by/at)
    std::vector<int> merge_atts;     // otherwise only these (none for an empty list)
    std::vector<int> key_atts;       // the primary key, as enable_occ() recorded it
    std::string array_mode = "auto";
    std::string version_column;
};

// Refuses (39P01) a call other than as the trigger enable_occ() installs: the
// BEFORE UPDATE row trigger (`before`) with 10 arguments, or the AFTER row
// trigger with 5.
void check_trigger_call(FunctionCallInfo fcinfo, bool before);

// The trigger's arguments, checked against the table's columns now: malformed
// arguments 39P01; a named column missing 42703, of another type than
// enable_occ() requires 42804, in a role it may not have 22023; the primary key
// gone or changed 42P16. JSON DETAILs throughout.
OccConfig decode_config(TriggerData* td, bool before);

// Whether the current role may see the values of columns `atts` of `rel`'s rows
// in an error: PostgreSQL's rule for its own errors (ExecBuildSlotValueDescription)
// - row-level security not enabled for the role on the table, and SELECT on the
// table or on each of these columns. For a partition, through the partition or
// through `origin`, the table enable_occ() was called on. With `row_security`
// false only the privileges decide (the merge's rule, occ.cpp).
bool values_visible(Relation rel, Oid origin, const std::vector<int>& atts, bool row_security = true);

}  // namespace ce::pg
