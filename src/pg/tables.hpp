// The extension's own tables read and written from C, without a statement (the
// file row in file_head.cpp, the feed's numbering and moves in feed_log.cpp, a
// lock cycle's rows in lock_rows.cpp, the session row in sessions.cpp). Plain C
// for use inside pg_call(): each raises a PostgreSQL error.
#pragma once

#include <initializer_list>
#include <string>

#include "pg/pg_headers.hpp"
#include "pg/values.hpp"

namespace ce::pg {

// A table of the schema `nsp` (concurrent_edit) by name: 42P01 when it is missing,
// or InvalidOid with `missing_ok`.
Oid own_table(Oid nsp, const char* name, bool missing_ok = false);
// Its primary key's index: 55000 when it has none. With `columns`, also 55000
// unless the key is on exactly those columns, in that order (the scans from C
// give their keys by position: a key rebuilt in another order would match other
// rows).
Oid primary_key_of(Relation rel);
Oid primary_key_of(Relation rel, std::initializer_list<const char*> columns);
// An index of `rel` by name (42P01 when missing), 55000 unless on exactly
// `columns`, in that order, without expressions or (unless `partial`) a predicate.
// A caller that accepts a partial index checks the predicate's condition on
// every row it reads itself: the predicate may have been changed by hand.
Oid own_index(Relation rel, Oid nsp, const char* name, std::initializer_list<const char*> columns,
              bool partial = false);
// Whether `index` is an index of `rel` on exactly `columns`, in that order, without
// expressions or (unless `partial`) a predicate; key_as_made returns it if so,
// else raises 55000.
bool index_as_made(Relation rel, Oid index, std::initializer_list<const char*> columns, bool partial = false);
Oid key_as_made(Relation rel, Oid index, std::initializer_list<const char*> columns, bool partial = false);
// A column's number by name: 55000 when it is missing (a damaged installation).
AttrNumber column_of(Relation rel, const char* name);

// Maps `names` to the attribute indexes (0-based) of `rel` in `map`: false unless
// its live columns are exactly those, in any order.
bool map_columns(Relation rel, const char* const* names, int count, int* map);

// Whether the columns `map` points at have the types `types` (as map_columns
// ordered them), without a type modifier; with `domains`, or a domain over it
// (whose checks the writer then makes: form_row's check_domains).
bool columns_typed(Relation rel, const int* map, const Oid* types, int count, bool domains = false);
// The types of the pending tables' columns, in the order below.
extern const Oid kPendingTypes[];

// Whether the stored expression `bin` (nodeToString) of `rel` deparses to
// `expected` (as pg_get_expr shows it): how a CHECK or a default of the
// extension's tables is recognised, whatever its name. Cached per backend.
bool stored_expr_is(Relation rel, const char* bin, const char* expected);
// Whether column `att` (1-based) of `rel` has the default `expected` (nullptr:
// none): the paths from C fill such columns themselves.
bool default_is(Relation rel, AttrNumber att, const char* expected);
// Whether the CHECKs of `rel` are exactly these, by name and expression.
struct NamedExpr {
    const char* name;
    const char* expr;
};
bool checks_are(Relation rel, std::initializer_list<NamedExpr> expected);

// A CHECK found to be one of ours: its stored expression, kept so that it is
// parsed once per backend (and again after it changed).
struct CheckSeen {
    Oid relid = InvalidOid;
    char* ccbin = nullptr;
};
// Whether the only CHECK of `rel` is `name`, a call of the C function `symbol`
// on the columns at attribute indexes `args` (0-based), in order: then the rule
// it checks is the C function's (file_row_ok, file_version_row_ok,
// feed_cursors_ok). `seen` keeps the expression found to be ours.
bool own_check(Relation rel, const char* name, const char* symbol, const int* args, int nargs, CheckSeen* seen);

// The columns of change_pending and change_pending_locks (the same), and of
// change_log, whose cursor stands where the pending tables have their id.
enum PendingColumn { P_PROJECT, P_ID, P_EVENT, P_FILE, P_PATH, P_VERSION, P_HASH, P_SESSION, P_AUTHOR, P_DETAILS,
                     P_CREATED, kPendingColumnCount };
extern const char* const kPendingColumns[kPendingColumnCount];
extern const char* const kLogColumns[kPendingColumnCount];
// Whether a pending table is as the extension made it: kPendingColumns (mapped
// into `map`) of kPendingTypes, no CHECK, plain (below).
bool pending_table_as_made(Relation rel, int* map);

// Whether `rel` can be written here as a statement would, triggers aside: a
// plain table with no rule or forced row security, whose indexes are on plain
// columns only, immediate, not for an exclusion constraint (kept with insert_row
// and update_row below; a partial index gets the rows its predicate takes).
// Constraints and triggers are the caller's to check.
bool plain_table(Relation rel);
// plain_table, and no trigger.
bool plain_relation(Relation rel);
// A value's check against its type when that is a domain (nothing for another
// type), its compiled check kept for the backend's life.
void check_domain(Datum value, Oid type);
// A row of `rel` from `values` / `nulls` given in the order `map` maps to the
// table's columns (map_columns), each NULL checked against its column's NOT NULL
// (23502) and, with `check_domains`, each value against its column's domain.
HeapTuple form_row(Relation rel, const int* map, const Datum* values, const bool* nulls, int count,
                   bool check_domains);
// The row in `slot` (a row of `rel`) with the columns at attribute indexes
// `columns` (0-based) set to `values`, none NULL: the new version for update_row.
HeapTuple modified_row(Relation rel, TupleTableSlot* slot, const int* columns, const Datum* values, int count);
// Inserts `tuple` into `rel` (opened RowExclusiveLock) with its index entries
// (unique ones checked: 23505, after waiting for an inserting transaction).
void insert_row(Relation rel, HeapTuple tuple);
// Replaces the row at `otid`, locked by this transaction, with `updated`, adding
// index entries unless the new version is heap-only (40001 if, against the lock,
// another transaction changed it).
void update_row(Relation rel, ItemPointer otid, HeapTuple updated);

// A column's value as read from C: text (a palloc'd copy, RowText in
// values.hpp), the JSON text of a timestamptz, a uuid (all zero when NULL).
inline Datum attr(TupleTableSlot* slot, AttrNumber n, bool* isnull) { return slot_getattr(slot, n, isnull); }
RowText text_of(Datum d, bool isnull);
RowText json_time(Datum d, bool isnull);  // as to_json(timestamptz)::text
pg_uuid_t uuid_of(Datum d, bool isnull);
// The same of a slot's column.
inline RowText text_at(TupleTableSlot* slot, AttrNumber n) {
    bool isnull;
    Datum d = slot_getattr(slot, n, &isnull);
    return text_of(d, isnull);
}
inline pg_uuid_t uuid_at(TupleTableSlot* slot, AttrNumber n) {
    bool isnull;
    Datum d = slot_getattr(slot, n, &isnull);
    return uuid_of(d, isnull);
}

// The snapshot a statement would run with, pushed as the active one (this
// call's own earlier changes seen; with `latest`, the latest snapshot at every
// isolation level): the caller pops it (PopActiveSnapshot) when done.
Snapshot push_statement_snapshot(bool latest = false);

// An index scan of `rel` through `index` on its first `nkeys` columns, calling
// `each` with every row visible to `snapshot` in `slot`; `each` returns false to
// stop.
template <typename Each>
void scan_by_key(Relation rel, Oid index, Snapshot snapshot, ScanKeyData* keys, int nkeys, TupleTableSlot* slot,
                 Each each) {
    Relation irel = index_open(index, AccessShareLock);
    IndexScanDesc scan = index_beginscan(rel, irel, snapshot, nkeys, 0);
    index_rescan(scan, keys, nkeys, nullptr, 0);
    while (index_getnext_slot(scan, ForwardScanDirection, slot))
        if (!each()) break;
    index_endscan(scan);
    index_close(irel, AccessShareLock);
}

// The first row of that scan, in `slot`; false when there is none.
inline bool first_by_key(Relation rel, Oid index, Snapshot snapshot, ScanKeyData* keys, int nkeys,
                         TupleTableSlot* slot) {
    bool found = false;
    scan_by_key(rel, index, snapshot, keys, nkeys, slot, [&found] {
        found = true;
        return false;
    });
    return found;
}

}  // namespace ce::pg
