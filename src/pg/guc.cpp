#include "pg/guc.hpp"
#include "pg/heap.hpp"

#include "pg/pg_headers.hpp"


#include <climits>
#include <cstring>


namespace ce::pg {

int guc_max_input_kb = 64 * 1024;  // 64 MB
int guc_max_merge_memory_kb = 512 * 1024;  // 512 MB
int guc_lock_ttl_s = 30;
bool guc_lock_events = true;
double guc_notify_queue_limit = 0.5;
int guc_max_lock_ttl_s = 24 * 3600;
int guc_session_idle_s = 5 * 60;
int guc_session_close_s = 60 * 60;
int guc_closed_session_retention_s = 7 * 24 * 3600;
char* guc_worker_database = nullptr;
int guc_worker_interval_ms = 1000;
int guc_retention_interval_s = 60;
int guc_retention_batch = 100;
int guc_max_writes_per_file = 1000;
int guc_max_sessions_per_role = 10000;
int guc_sequence_batch = 10000;
double guc_sequence_delay_ms = 2.0;
int guc_queue_vacuum_threshold = 10000;
bool guc_on_demand_sequencer = true;
int guc_occ_history_versions = 20;
int guc_max_clock_ahead = 100000;
int guc_conflict_spool_limit = 10000;
char* guc_actor = nullptr;
bool guc_semantic_warnings = true;

namespace {
int guc_conflict_style = 0;
const struct config_enum_entry conflict_style_options[] = {
    {"merge", 0, false}, {"diff3", 1, false}, {"zdiff3", 2, false}, {nullptr, 0, false}};
int guc_diff_algorithm = 0;
const struct config_enum_entry diff_algorithm_options[] = {
    {"myers", 0, false}, {"dtl", 1, false}, {nullptr, 0, false}};
}  // namespace

DiffAlgorithm diff_algorithm() { return guc_diff_algorithm == 1 ? DiffAlgorithm::dtl_onp : DiffAlgorithm::myers; }

MergeStyle conflict_style() {
    switch (guc_conflict_style) {
        case 1: return MergeStyle::diff3;
        case 2: return MergeStyle::zdiff3;
        default: return MergeStyle::merge;
    }
}

namespace {
// concurrent_edit.database, cut to a database name's length (NAMEDATALEN - 1
// bytes), at a character of UTF-8 as CREATE DATABASE cuts a longer name (the
// worker looked for the long one for ever). In place, as check_application_name
// cleans its value.
bool check_database_name(char** newval, void**, GucSource) {
    if (*newval == nullptr || std::strlen(*newval) < NAMEDATALEN) return true;
    std::size_t cut = NAMEDATALEN - 1;
    while (cut > 0 && (static_cast<unsigned char>((*newval)[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    (*newval)[cut] = '\0';
    return true;
}
}  // namespace

void define_gucs() {
    DefineCustomIntVariable(
        "concurrent_edit.max_input_size",
        "Largest text (per argument) accepted by merge, diff and write functions.",
        "Larger inputs are refused with SQLSTATE 54000 before any work is done.",
        &guc_max_input_kb, 64 * 1024, 1, MAX_KILOBYTES, PGC_SUSET, GUC_UNIT_KB, nullptr, nullptr,
        nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.max_writes_per_file", "Most elements of one write_many call that write the same file.",
        "More are refused with SQLSTATE 54000 before any write: each one updates the file's row again in the call's "
        "transaction, and every update finds the row through all the earlier ones (a time that grows with the square "
        "of their number, with the file locked throughout).",
        &guc_max_writes_per_file, 1000, 1, 1000000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.max_merge_memory", "Memory one merge or diff may take (its growth of the backend's heap).",
        "A merge that needs more is stopped with SQLSTATE 54000.", &guc_max_merge_memory_kb, 512 * 1024, 1024,
        MAX_KILOBYTES, PGC_SUSET, GUC_UNIT_KB, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.retained_free_memory",
        "Freed memory a backend that merged keeps for its next merges instead of returning it at once.",
        "glibc malloc's trim threshold (requests up to half of it are served from the heap), set from the "
        "backend's first merge or diff on. 0: malloc's own policy.",
        // At most INT_MAX bytes: mallopt takes an int (4GB became 0, 2GB negative).
        &guc_retained_free_memory_kb, 32 * 1024, 0, kMaxRetainedFreeMemoryKb, PGC_SUSET, GUC_UNIT_KB, nullptr,
        nullptr, nullptr);
    DefineCustomEnumVariable(
        "concurrent_edit.conflict_style",
        "Conflict marker style of the text write() returns for a conflict.",
        "merge (ours/theirs), diff3 (with the base) or zdiff3, as in git.",
        &guc_conflict_style, 0, conflict_style_options, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomEnumVariable(
        "concurrent_edit.diff_algorithm", "Line diff core of merges and diffs: myers (git's) or dtl.",
        "myers reproduces git merge-file and git diff byte for byte; dtl uses the dtl library's O(NP) "
        "algorithm, which may choose another of several equally short edit scripts.",
        &guc_diff_algorithm, 0, diff_algorithm_options, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable(
        "concurrent_edit.semantic_warnings",
        "Reports the blocks both sides changed in a clean merge (semantic_warnings of merge3, write and others).",
        "Off: semantic_warnings is always an empty array. A warning never changes the merge or the write.",
        &guc_semantic_warnings, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.lock_ttl", "Lifetime of a file lock when acquire_lock() is given no ttl.",
        "A lock lapses at acquired time + ttl unless extended; an expired lock never blocks anyone.",
        &guc_lock_ttl_s, 30, 1, INT_MAX / 1000, PGC_USERSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable(
        "concurrent_edit.lock_events",
        "Records lock changes (lock_acquired, lock_released, lock_expired, lock_forced) in the change feed.",
        "Off: locks work the same, but their changes are not in the feed nor notified; lock_status() and "
        "active_locks still show them. Superuser (a database or role setting): feed readers rely on it.",
        &guc_lock_events, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable(
        "concurrent_edit.notify_queue_limit",
        "How full PostgreSQL's notification queue may be (a fraction) for the extension to send NOTIFYs.",
        "A transaction that finds the queue fuller sends none of its change notifications (the change feed keeps "
        "every event), so that a session that LISTENs without reading, holding the queue, cannot make writes fail "
        "once it is full. 1 sends always.",
        &guc_notify_queue_limit, 0.5, 0.0, 1.0, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.max_lock_ttl", "Longest ttl accepted by acquire_lock() and extend_lock().", nullptr,
        &guc_max_lock_ttl_s, 24 * 3600, 1, INT_MAX / 1000, PGC_SUSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.session_idle_timeout", "Inactivity after which an active edit session becomes idle.",
        "Applied by the background worker or cleanup_inactive_sessions().", &guc_session_idle_s, 5 * 60, 1,
        INT_MAX / 1000, PGC_SUSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.session_close_timeout",
        "Inactivity after which an edit session is closed and its locks released.",
        "Applied by the background worker or cleanup_inactive_sessions().", &guc_session_close_s, 60 * 60, 1,
        INT_MAX / 1000, PGC_SUSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.max_sessions_per_role", "Most open edit sessions one role may have in a database.",
        "open_session() beyond it is refused with SQLSTATE 53400. Sessions past session_close_timeout do not count; "
        "superusers are not limited. -1: no limit. Set per role with ALTER ROLE ... SET.",
        &guc_max_sessions_per_role, 10000, -1, INT_MAX, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.closed_session_retention",
        "How long a closed edit session without drafts is kept before it is deleted.",
        "Applied by the background worker or cleanup_inactive_sessions(), examining at most 1000 closed sessions per run (the next run resumes after them); "
        "-1 keeps closed sessions for ever. A session with drafts is kept until they are committed or discarded.",
        &guc_closed_session_retention_s, 7 * 24 * 3600, -1, INT_MAX, PGC_SUSET, GUC_UNIT_S, nullptr,
        nullptr, nullptr);
    // A postmaster-level setting can only be defined while the server starts, i.e.
    // when the library is preloaded, which is also the only case with a worker.
    // Otherwise it is defined all the same, at reload level and without effect:
    // left undefined, a concurrent_edit.database line of postgresql.conf (the
    // preload removed, or not yet in effect) made every session that loads the
    // library warn that the reserved prefix removed it.
    if (process_shared_preload_libraries_in_progress)
        DefineCustomStringVariable(
            "concurrent_edit.database", "Database served by the concurrent_edit background worker.",
            "The worker runs only when concurrent_edit is in shared_preload_libraries.", &guc_worker_database,
            "postgres", PGC_POSTMASTER, GUC_SUPERUSER_ONLY, check_database_name, nullptr, nullptr);
    else
        DefineCustomStringVariable(
            "concurrent_edit.database", "Database served by the concurrent_edit background worker.",
            "No effect: concurrent_edit is not in shared_preload_libraries, so no worker runs.",
            &guc_worker_database, "postgres", PGC_SIGHUP, GUC_SUPERUSER_ONLY, check_database_name, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.worker_interval", "How often the background worker expires locks and sessions.",
        "It is also called by commits that leave change events for it, to sequence and send them (see concurrent_edit.sequence_delay).",
        &guc_worker_interval_ms, 1000, 10, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.retention_interval", "How often the background worker applies history retention.",
        "Each round applies set_retention() to at most concurrent_edit.retention_batch files.",
        &guc_retention_interval_s, 60, 1, 7 * 24 * 3600, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.retention_batch", "Files the background worker prunes per retention round.",
        "One transaction per file; a file being written is skipped until the next round.", &guc_retention_batch,
        100, 1, 100000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.sequence_batch", "Pending events the background worker sequences per transaction.",
        "A larger backlog is sequenced in several transactions, projects taken in turn.", &guc_sequence_batch,
        10000, 100, INT_MAX, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable(
        "concurrent_edit.sequence_delay",
        "Least time between the starts of two sequencing rounds of the background worker while the commits of "
        "several backends call it (the worker found them at two rounds within the last second).",
        "Events committed when the last round started longer ago, or while a single backend commits events, are "
        "sequenced and sent at once; those that several backends commit sooner wait for the next round, so that "
        "under a steady stream each round sequences many events in one transaction, at the price of that wait. 0 "
        "starts a round at every wake-up.",
        &guc_sequence_delay_ms, 2.0, 0.0, 100.0, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.queue_vacuum_threshold",
        "Events the background worker (or the on-demand sequencer) moves out of the pending-event queues before it "
        "vacuums them itself.",
        "Every lock event, and every event that waits for the worker or a sequencer, leaves a dead row in "
        "change_pending_locks or change_pending; between autovacuum's visits a steady stream makes them grow without "
        "bound. A vacuum is cancelled after 1 s; the next one waits 19 times as long as the last one took. 0 leaves "
        "the queues to autovacuum.",
        &guc_queue_vacuum_threshold, 10000, 0, INT_MAX, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.occ_history_versions",
        "Row images kept per row by OCC triggers in merge mode (the bases a stale UPDATE can merge from).",
        "A stale UPDATE based on an older version than these is refused with VC001.", &guc_occ_history_versions,
        20, 1, 100000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.max_clock_ahead",
        "How far the writing session's own counter in write(client_clock) may be ahead of every version of the file.",
        "Edits a client counted offline. Any other node, and the author's without a session, must be dominated by the "
        "file's history (22023 otherwise).",
        &guc_max_clock_ahead, 100000, 0, INT_MAX, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable(
        "concurrent_edit.on_demand_sequencer",
        "Without a worker serving the database, a commit that finds its project's feed row busy hands its events to "
        "a sequencer started on demand.",
        "A background worker per database, started when needed and gone after 2 s without work. Off: writers of "
        "one project take the feed row in turn at their commit, each waiting for the previous one's WAL flush.",
        &guc_on_demand_sequencer, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "concurrent_edit.conflict_spool_limit",
        "Row conflicts of OCC triggers that may wait to be recorded, per database.",
        "Beyond it a conflict is counted as dropped and logged (the UPDATE still fails with VC001).",
        &guc_conflict_spool_limit, 10000, 1, 10000000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable(
        "concurrent_edit.actor", "Who is changing rows, for the modified_by column of OCC triggers.",
        "Applications set it per transaction (SET LOCAL concurrent_edit.actor = '...'); when empty the current "
        "role's name is used.",
        &guc_actor, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("concurrent_edit");
}

}  // namespace ce::pg
