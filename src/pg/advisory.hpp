// The extension's heavyweight locks: advisory LOCKTAGs with field4 of 4 and up, a
// key space no SQL-level pg_advisory_lock call reaches (those use 1 and 2).
// docs/architecture.md lists the classes.
#pragma once

#include <cstddef>

#include "concurrent_edit/siphash.hpp"
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
    session = 13,          // a session's lock, draft and open-file writers (share), its close (exclusive)
};

// The key of the lock tags' hash: 16 random bytes in
// $PGDATA/pg_concurrent_edit/lock_key, made by the first process that loads the
// library and read by every later one (load_lock_key, at _PG_init). Unkeyed, the
// hash let a role choose file ids (create_file's file_id) whose tags collide with
// another project's file, and so block its writes and locks, or see when they
// happen; with the key no one outside the server can find a collision.
extern uint8 lock_key[16];
// Reads the key, making it first if there is none. Raises (PostgreSQL context)
// when the file cannot be read or made, or is damaged.
void load_lock_key();

// The tag fields of `n` bytes: their keyed hash (SipHash-2-4), in two halves.
inline void keyed_fields(const void* data, std::size_t n, uint32* f2, uint32* f3) {
    uint64 h = ce::siphash24(lock_key, data, n);
    *f2 = static_cast<uint32>(h);
    *f3 = static_cast<uint32>(h >> 32);
}

// The lock of a uuid in a class, in this database.
inline LOCKTAG uuid_lock_tag(const pg_uuid_t& id, LockClass c) {
    LOCKTAG tag;
    uint32 f2, f3;
    keyed_fields(id.data, UUID_LEN, &f2, &f3);
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, f2, f3, static_cast<uint16>(c));
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
