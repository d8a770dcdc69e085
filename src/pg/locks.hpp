// File locks, as used by sessions and the background worker.
#pragma once

#include "pg/spi.hpp"

namespace ce::pg {

// The locks the worker releases per transaction, beyond which the rest go in
// the rounds that follow: each costs its deletion and an event,
// and the worker sequences no project's events meanwhile (300,000 locks made to
// expire at one instant by one role held every project's events for 4.6 s; a
// timed-out session holding 200,000 locks, 1.9 s at its close).
constexpr int64 kReleaseBatch = 5000;

// Releases every lock of a session, recording lock_released events. Owner's context.
int64 release_session_locks(Spi& spi, const pg_uuid_t& session_id);
// Releases at most `most` locks of a closed session (lock_released events), those
// no other transaction holds; none while the session is open. The worker's close
// of a timed-out session and the rounds after it (close_one). Owner's context.
int64 release_closed_session_locks(Spi& spi, const pg_uuid_t& project_id, const pg_uuid_t& session_id, int64 most);
// Deletes every expired lock (lock_expired events) and the locks of closed or
// missing sessions (lock_released): with `whole_pass`, all of them; else (the
// worker) at most kReleaseBatch expired locks, and those of the next 1,000 locks
// in key order, resuming after them at the next call, and of the batches after
// as long as one finds any, up to kReleaseBatch. Owner's context.
int64 cleanup_expired_locks(Spi& spi, bool whole_pass);
// Whether the worker's last sweep (cleanup_expired_locks without whole_pass) left
// expired or orphaned locks beyond its batch: the worker then sweeps again after
// its next sequencing round, not a worker_interval later.
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
