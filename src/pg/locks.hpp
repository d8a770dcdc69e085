// File locks, as used by sessions and the background worker.
#pragma once

#include "pg/pg_headers.hpp"

namespace ce::pg {

// Releases every lock of a session, recording lock_released events. SPI connected.
int64 release_session_locks(const pg_uuid_t& session_id);
// Deletes every expired lock, recording lock_expired events. SPI connected.
int64 cleanup_expired_locks();

}  // namespace ce::pg
