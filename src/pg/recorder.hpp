// The conflict recorder: OCC row conflicts recorded although the transaction that
// met them fails (docs/reference/occ.md).
//
// The trigger writes the record (already computed: ids, key, versions, details) as
// one file into a spool directory of its database, $PGDATA/pg_concurrent_edit/
// conflicts/<database oid>/, and raises its error. One recorder per database (a
// background worker holding the database's recorder lock, started on demand;
// the preloaded worker drains its own database as well) imports the files into
// conflict_history in its own transactions, idempotently (the record's id is the
// conflict's id), and removes them.
//
// Bounded: at most concurrent_edit.conflict_spool_limit files wait per database
// (beyond, the conflict is counted as dropped and logged: the UPDATE is never
// blocked), as many at most are kept in its bad/ directory, the records that
// cannot be recorded (beyond, the oldest are removed and logged), a record is at
// most kMaxRecordBytes (beyond, the row image in its details is replaced by a
// note), and at most one recorder runs per database, whatever the rate of
// conflicts. Files survive a crash and are imported after it.
#pragma once

#include <string>

#include "pg/spi.hpp"

namespace ce::pg {

constexpr std::size_t kMaxRecordBytes = 1024 * 1024;

// Spools a row conflict of the calling transaction's database and makes sure a
// recorder runs. Never raises for a full spool or a missing worker slot (WARNING).
// `details_without_row`: the details with the row image left out, used when the
// record would exceed kMaxRecordBytes.
void record_row_conflict(const pg_uuid_t& project_id, Oid relid, const std::string& relation, const std::string& row_key,
                         int64 base_version, int64 ours_version, const std::string& details,
                         const std::string& details_without_row = {});

// Imports the spooled conflicts of the current database, if no recorder holds
// its lock (the preloaded worker calls it, with no transaction open). An error is
// reported, not raised. Returns how many were imported.
int64 drain_conflict_spool();

// Counters of this server since it started (shared memory; this backend's own
// when the library is not preloaded).
struct RecorderCounters {
    int64 spooled, recorded, dropped;
};
RecorderCounters recorder_counters();

}  // namespace ce::pg
