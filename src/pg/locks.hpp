// File locks, as used by sessions and the background worker.
#pragma once

#include "pg/spi.hpp"

namespace ce::pg {

// Releases every lock of a session, recording lock_released events. Owner's context.
int64 release_session_locks(Spi& spi, const pg_uuid_t& session_id);
// Deletes every expired lock (lock_expired events) and the locks of closed or
// missing sessions (lock_released): with `whole_pass`, all of them; else (the
// worker) those of the next 1,000 locks in key order, resuming after them at the
// next call, and of the batches after as long as one finds any. Owner's context.
int64 cleanup_expired_locks(Spi& spi, bool whole_pass);
// Whether the worker's last sweep (cleanup_expired_locks without whole_pass) left
// expired locks beyond its batch: the worker then sweeps again after its next
// sequencing round, not a worker_interval later.
bool expired_locks_left();
// acquire_lock's expiry: deletes the expired locks of one file that no other
// transaction holds (lock_expired events), and sets `*in_change` to how many
// locks in the way of `session_id`'s request (another session's; for a shared
// request, exclusive ones) are not among them: expired ones another transaction
// holds, extending or releasing them (not waited for), and unexpired ones (an
// extension committed since the caller looked). Read with the latest snapshot.
// Owner's context.
int64 expire_file_locks(Spi& spi, const pg_uuid_t& project_id, const pg_uuid_t& file_id, const pg_uuid_t& session_id,
                        bool exclusive, int64* in_change);

}  // namespace ce::pg
