// Edit sessions: the check every call that names a session makes, and the author
// of a change. A session belongs to the role that opened it: another role may use
// it only with admin on its project.
#pragma once

#include <string>

#include "pg/api.hpp"

namespace ce::pg {

struct SessionInfo {
    pg_uuid_t id{}, project_id{}, user_id{};
    Oid role = InvalidOid;
    std::string status;
};

enum class SessionUse {
    act,     // write, drafts, locks, presence, touch: write right on its project, and its role or admin
    manage,  // leaving: close the session or a file, discard a draft, release a lock: its role or admin
    read,    // session_drafts: read right, and its role or admin
};

// The session, checked for `use` by the caller: VC005 when it does not exist, is
// closed (unless `allow_closed`) or timed out; 42501 when it belongs to another
// role and the caller is not admin of its project. `touch` records activity (at
// most once a second; an idle session becomes active).
SessionInfo use_session(ApiCall& call, const pg_uuid_t& session_id, SessionUse use, bool touch,
                        bool allow_closed = false, bool lock_row = false);

// The same check on a session row a caller's own statement read (saving a
// statement): the columns CE_SESSION_COLUMNS(timeout) of edit_sessions `s`, at
// `col` of the first row of `r` (all NULL, or no row: no such session); the
// statement's parameter `timeout` is guc_session_close_s. `r` must not be used
// after this call (a touch is a statement of its own).
#define CE_SESSION_COLUMNS(timeout)                                                                        \
    "s.project_id, s.user_id, s.role::oid, s.status, s.last_active_at < now() - interval '1 second', "   \
    "s.last_active_at < now() - make_interval(secs => " timeout ")"
SessionInfo check_session(ApiCall& call, const pg_uuid_t& session_id, const Rows& r, int col, SessionUse use,
                          bool touch, bool allow_closed = false);

// A session row as check_session() needs it (those columns), plain data: C paths
// fill it inside pg_call().
struct SessionRow {
    bool found;  // false: no such session (the rest is unset)
    pg_uuid_t project_id, user_id;
    Oid role;
    char status[8];        // active, idle or closed
    bool stale_activity;   // last_active_at more than a second before now()
    bool timed_out;        // ... more than concurrent_edit.session_close_timeout before now()
};
SessionInfo check_session(ApiCall& call, const pg_uuid_t& session_id, const SessionRow& row, SessionUse use,
                          bool touch, bool allow_closed = false);

// The rule check_session() applies, without raising: the caller may use a session
// of role `owner` in `project` for `use` when it is that role (or has its
// privileges) and holds the right `use` needs, or is an admin of the project.
struct SessionAccess {
    bool own;
    Right has, needed;  // the caller's right on the project (none: not read), and the right `use` needs
    bool allowed() const { return (own || has >= Right::admin) && has >= needed; }
};
SessionAccess session_access(ApiCall& call, const pg_uuid_t& project, Oid owner, SessionUse use);
// Plain C, inside pg_call(): the row of `session_id` visible to `snapshot` (the
// first by edit_sessions_id_idx), read without a statement.
SessionRow read_session_row(Oid nsp, const pg_uuid_t& session_id, Snapshot snapshot);
// VC005: the session is closed.
[[noreturn]] void throw_session_closed(const std::string& sid);
// Before a lock, draft or open-file row of the session is written: waits for a
// close of the session in progress (its lock, class session, in share mode to the
// end of the transaction; a close takes it exclusively before it releases the
// session's locks, closes its files and drops its drafts), then VC005 if the
// session is closed or gone (latest snapshot). A close that comes later waits for
// this transaction and then sees the row: no lock or open file outlives its
// session's close, and no draft a close with discard_drafts.
void keep_session_open(const pg_uuid_t& session_id);
// VC005 unless the session works on the file's project.
void require_same_project(const SessionInfo& s, const pg_uuid_t& file_id, const pg_uuid_t& project_id);

// Records a session event (session_joined, file_opened, ...) of `s`.
void session_event(Spi& spi, const char* event, const SessionInfo& s, const pg_uuid_t& file = {},
                   const std::string& path = {});
// Closes one session: releases its locks, closes its files, optionally drops its
// drafts, records session_left (sessions.cpp). With `wait` false (the worker),
// 55P03 at once when a call of the session holds it open (keep_session_open).
// With `most` (the worker), at most that many of its locks; the rest in the
// worker's next rounds (release_rest_of_closed).
void close_one(Spi& spi, const SessionInfo& s, bool discard_drafts, bool wait = true, int64 most = -1);
// Releases at most `most` locks of a closed session, those no other transaction
// holds (session_cleanup.cpp); when it may have more left, the session is noted
// for the worker's next rounds.
void release_part_of_closed(Spi& spi, const SessionInfo& s, int64 most);
// The worker: releases at most `most` (what the round's expiry left of
// kReleaseBatch) of the locks its closes left to a closed session. A note lost
// (a worker's restart, more than 10,000 sessions noted) leaves them to the look
// for orphaned locks.
void release_rest_of_closed(Spi& spi, int64 most);
// Whether a close of the worker left locks to release.
bool closed_sessions_left();

// The author of a change: the session's user when a session is given (an explicit
// author must then match it), else `author` (22004 when neither is given).
pg_uuid_t resolve_author(ApiCall& call, const UuidArg& author, const UuidArg& session, const pg_uuid_t& project_id);

// A pass over the sessions inactive for session_close_timeout, in batches of at
// most kCloseBatch: the active ones, then the idle ones, each in order of
// (last_active_at, project_id, id), the order of edit_sessions_inactive_idx, so
// that a batch reads the sessions it closes and not every open one (before, each
// batch read all open sessions: a scan per batch, every worker_interval, that
// grew with the number of open sessions). Where the next batch starts: the pass
// and the key of the last session returned.
// Each close holds a heavyweight lock to the end of its transaction (the
// session's, see keep_session_open; its subtransaction's xid lock is released
// when the subtransaction commits, as PostgreSQL does for every committed
// subtransaction): thousands of closes in one transaction filled the shared lock table ("out of shared
// memory"), failing that transaction, and every other one's lock requests
// meanwhile. The worker closes each batch in a transaction of its own.
constexpr int32 kCloseBatch = 100;
struct CloseBatch {
    int pass = 0;                     // 0: active sessions, 1: idle ones, 2: done
    int64 last_active_at = PG_INT64_MIN;  // after this key (TimestampTz; -infinity: from the first)
    pg_uuid_t project_id{};
    pg_uuid_t id{};
    bool more() const { return pass < 2; }  // another batch may follow
};
// Closes the next batch of timed-out sessions (those another transaction holds
// are left for a later pass). `bounded` (the worker): at most 100 ms of closes,
// the batch's other sessions left for the next pass. Returns how many it closed.
// Owner's context.
int32 close_timed_out_sessions(Spi& spi, CloseBatch* batch, bool bounded = false);
// Moves sessions inactive for session_idle_timeout to idle and closes those
// inactive for session_close_timeout: with `batch`, only its next batch (the
// worker; it closes the next ones with close_timed_out_sessions in transactions
// of their own), else all of them. Returns how many changed. Owner's context.
int32 cleanup_inactive_sessions(Spi& spi, CloseBatch* batch = nullptr);

// Deletes every draft of the session and records a draft_discarded event for each
// (close_session(..., discard_drafts => true); drafts.cpp). Owner's context.
void discard_session_drafts(Spi& spi, const SessionInfo& s);

}  // namespace ce::pg
