// The extension's heavyweight locks: advisory LOCKTAGs with field4 of 4 and up, a
// key space no SQL-level pg_advisory_lock call reaches (those use 1 and 2).
// docs/architecture.md lists the classes.
#pragma once

#include <cstddef>

#include "pg/pg_headers.hpp"

namespace ce::pg {

enum class LockClass : uint16 {
    file_write = 4,        // writers of a file (wait-die)
    path = 5,              // creators and renamers of a path key
    project_paths = 6,     // a project's path options (shared by claimers)
    recorder = 7,          // the conflict recorder of a database (session-level)
    lock_acquisition = 8,  // acquirers of a file lock (acquire_lock's queue)
    file_id = 9,           // creators of a file with a client's file_id
    lock_queue = 10,       // an exclusive acquirer waiting for a file lock, ahead of later acquirers
    sequencer = 11,        // the on-demand sequencer of a database (session-level)
    sequencer_clients = 12,  // commits relying on it (share), a sequencer leaving (exclusive)
};

// FNV-1a, the keys' hash (a collision only makes two keys share a lock).
inline uint32 hash_bytes(const unsigned char* p, std::size_t n, uint32 h = 2166136261u) {
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
    return h;
}

// The lock of a uuid in a class, in this database.
inline LOCKTAG uuid_lock_tag(const pg_uuid_t& id, LockClass c) {
    LOCKTAG tag;
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, hash_bytes(id.data, 8), hash_bytes(id.data + 8, 8),
                         static_cast<uint16>(c));
    return tag;
}

// The lock of a database-wide singleton (the recorder, the sequencer).
inline LOCKTAG database_lock_tag(Oid db, LockClass c) {
    LOCKTAG tag;
    SET_LOCKTAG_ADVISORY(tag, db, 0, 0, static_cast<uint16>(c));
    return tag;
}

// Whether no one holds the lock in a mode conflicting with `mode` now (taken and
// released at once, never waited for). May raise (a full lock table).
inline bool lock_is_free(LOCKTAG tag, LOCKMODE mode = ExclusiveLock) {
    if (LockAcquire(&tag, mode, false, true) == LOCKACQUIRE_NOT_AVAIL) return false;
    LockRelease(&tag, mode, false);
    return true;
}

}  // namespace ce::pg
