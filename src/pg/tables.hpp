// The extension's own tables read and written from C, without a statement (the
// file row in file_head.cpp, the commit's numbering in feed_log.cpp). Plain C for
// use inside pg_call(): each raises a PostgreSQL error.
#pragma once

#include "pg/pg_headers.hpp"

namespace ce::pg {

// A table of the schema `nsp` (concurrent_edit) by name: 42P01 when it is missing,
// or InvalidOid with `missing_ok`.
Oid own_table(Oid nsp, const char* name, bool missing_ok = false);
// Its primary key's index: 55000 when it has none.
Oid primary_key_of(Relation rel);
// A column's number by name: 55000 when it is missing (a damaged installation).
AttrNumber column_of(Relation rel, const char* name);

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
