// The change feed (src/sql/30_feed.sql, docs/reference/feed.md): events queued by
// API calls, the sequencer, NOTIFY, changes_since, feed_position and prune_changes.
#include "pg/feed.hpp"

#include <algorithm>
#include <functional>
#include <vector>

#include "pg/api.hpp"
#include "pg/feed_sequencer.hpp"
#include "pg/owner.hpp"
#include "pg/results.hpp"
#include "pg/sequencer.hpp"
#include "pg/shared.hpp"

namespace ce::pg {
namespace {

// Projects that got pending events in the current transaction (malloc'd, in
// uuid order, emptied at the end of every transaction), each with the
// subtransaction that first noted it (noted_in, in step): a rolled-back savepoint
// forgets the projects it noted, as their rows are gone.
std::vector<pg_uuid_t>* noted = nullptr;
std::vector<SubTransactionId>* noted_in = nullptr;
bool signal_worker_at_commit = false;
// Projects whose events this transaction handed to the on-demand sequencer
// (malloc'd, in uuid order as `noted`; emptied at the end of every transaction):
// woken after the commit.
std::vector<pg_uuid_t>* handed = nullptr;
// COMMIT PREPARED handed the prepared transaction's events to the on-demand
// sequencer (feed_process_utility): woken after the statement's commit.
bool sequencer_at_commit = false;

// Whether a list of projects in uuid order (noted, handed) has `p`.
bool listed(const std::vector<pg_uuid_t>* projects, const pg_uuid_t& p) {
    return projects != nullptr && std::binary_search(projects->begin(), projects->end(), p, uuid_less);
}

// Events of the current transaction kept in this backend until its commit, where
// they are numbered straight into change_log (sequence_local): the common case, a
// READ COMMITTED transaction, then writes no pending row and needs no second
// transaction. Each remembers the subtransaction that made it, so a rolled-back
// savepoint drops its events. Bounded: past kMaxLocalEvents, or once an event of
// the transaction went to the pending tables (a lock event, say), its later events
// go there too, so that they are numbered after the local ones, as they were made.
// In REPEATABLE READ and SERIALIZABLE all events go there (a sequencer bound to the
// transaction's snapshot could not take the feed row), and a prepared transaction
// moves its local events there before it is prepared.
constexpr std::size_t kMaxLocalEvents = 1000;
std::vector<LocalEvent>* local_events = nullptr;
bool events_pending_in_xact = false;

void note_project(const pg_uuid_t& p) {
    events_pending_in_xact = true;  // the transaction's later events follow these
    if (noted == nullptr) {
        noted = new std::vector<pg_uuid_t>();
        noted_in = new std::vector<SubTransactionId>();
    }
    auto it = std::lower_bound(noted->begin(), noted->end(), p, uuid_less);
    if (it != noted->end() && uuid_eq(*it, p)) return;
    SubTransactionId sub = pg_call([] { return GetCurrentSubTransactionId(); });
    noted_in->insert(noted_in->begin() + (it - noted->begin()), sub);
    noted->insert(it, p);
}

void forget_noted() {
    if (noted == nullptr) return;
    noted->clear();
    noted_in->clear();
}

// Runs `body` at pre-commit or pre-prepare, in the owner's context with SPI
// connected (no API function is on the stack there), inside the boundary guard:
// every C++ object of the work belongs in `body` (a capture-less lambda, so that
// making the std::function allocates nothing outside the guard).
void at_commit(const std::function<void(Spi&)>& body) {
    guard([&body]() -> Datum {
        with_owner_context([&body] {
            Spi spi;
            body(spi);
            spi.finish();
        });
        return 0;
    });
}

// Without the worker a commit may wait for feed rows in two steps: its local
// events' (sequence_local), then its pending events' (sequence_pending). Each step
// takes its rows in uuid order, but not the two together: a transaction holding
// P3's row from its local events could wait for P4's for its pending ones while
// another held P4's and waited for P3's (a deadlock, seen when the worker
// restarted). When both steps have events and more than one project, every row
// they may wait for is taken first, in uuid order (missing ones made), as every
// other taker of several feed rows does.
bool worker_at_commit = false;
void take_feed_rows_in_order(Spi& spi) {
    std::vector<pg_uuid_t> projects = *noted;
    for (const LocalEvent& l : *local_events) projects.push_back(l.ev.project_id);
    std::sort(projects.begin(), projects.end(), uuid_less);
    projects.erase(std::unique(projects.begin(), projects.end(), uuid_eq), projects.end());
    if (projects.size() < 2) return;
    static Statement make("INSERT INTO concurrent_edit.change_feeds (project_id, last_cursor) "
                          "SELECT p, 0 FROM pg_catalog.unnest($1::pg_catalog.uuid[]) p ORDER BY p "
                          "ON CONFLICT (project_id) DO NOTHING",
                          {UUIDARRAYOID});
    static Statement take("SELECT FROM concurrent_edit.change_feeds f WHERE f.project_id = ANY ($1) "
                          "ORDER BY f.project_id FOR UPDATE",
                          {UUIDARRAYOID}, Scans::by_key);
    Datum ids = uuid_array_datum(projects);
    make.run(spi, {ids});
    take.run(spi, {ids});
}

void drop_local_events() {
    if (local_events != nullptr) local_events->clear();
    events_pending_in_xact = false;
}

// At PREPARE TRANSACTION the local events go to the pending tables, where they
// get ids after those of the events the transaction already put there (made
// later: an event goes there only after one of its transaction's did, or past
// kMaxLocalEvents). The sequencer numbers by id, so those earlier rows of the
// projects that have local events are given new ids after them, in their order:
// after COMMIT PREPARED the events are numbered in the order they were made, as
// after a COMMIT. The transaction's own rows are those whose xmin is one of its
// (sub)transactions.
void prepare_local_events(Spi& spi, const std::vector<LocalEvent>& events) {
    std::vector<pg_uuid_t> behind;  // projects with local events and earlier pending rows
    for (const LocalEvent& l : events)
        if (listed(noted, l.ev.project_id)) behind.push_back(l.ev.project_id);
    std::sort(behind.begin(), behind.end(), uuid_less);
    behind.erase(std::unique(behind.begin(), behind.end(), uuid_eq), behind.end());
    struct Own {
        bool lock;
        pg_uuid_t project;
        int64 id;
    };
    std::vector<Own> own;
    static Statement rows(
        "SELECT false, p.id, p.xmin::text::bigint FROM concurrent_edit.change_pending p WHERE p.project_id = $1 "
        "UNION ALL SELECT true, p.id, p.xmin::text::bigint FROM concurrent_edit.change_pending_locks p "
        "WHERE p.project_id = $1 ORDER BY 2",
        {UUIDOID});
    for (const pg_uuid_t& p : behind) {
        Rows r = rows.run(spi, {uuid_datum(p)});
        for (uint64 i = 0; i < r.size(); ++i) {
            auto xid = static_cast<TransactionId>(r.int8(i, 2));
            if (pg_call([xid] { return TransactionIdIsCurrentTransactionId(xid); }))
                own.push_back(Own{r.boolean(i, 0), p, r.int8(i, 1)});
        }
    }
    for (const LocalEvent& l : events) insert_pending(spi, l.ev);
#define CE_NEXT_ID(table)                                                                              \
    "UPDATE concurrent_edit." table " p SET id = pg_catalog.nextval('concurrent_edit.change_pending_id_seq') " \
    "WHERE p.project_id = $1 AND p.id = $2"
    static Statement again(CE_NEXT_ID("change_pending"), {UUIDOID, INT8OID});
    static Statement again_lock(CE_NEXT_ID("change_pending_locks"), {UUIDOID, INT8OID});
#undef CE_NEXT_ID
    for (const Own& o : own) {  // in id order, project by project
        check_interrupts();
        (o.lock ? again_lock : again).run(spi, {uuid_datum(o.project), Int64GetDatum(o.id)});
    }
}

void xact_callback(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
            // Read once: both steps must agree on it (it changes while the worker
            // restarts).
            worker_at_commit = worker_serves_this_database();
            if (!worker_at_commit && local_events != nullptr && !local_events->empty() && noted != nullptr &&
                !noted->empty() && !IsolationUsesXactSnapshot())
                at_commit([](Spi& spi) { take_feed_rows_in_order(spi); });
            if (local_events != nullptr && !local_events->empty()) {
                at_commit([](Spi& spi) {
                    std::vector<LocalEvent> events;
                    events.swap(*local_events);
                    const bool worker = worker_at_commit;
                    std::vector<pg_uuid_t> busy = sequence_local(spi, events, worker);
                    if (!worker && !busy.empty()) {
                        if (handed == nullptr) handed = new std::vector<pg_uuid_t>();
                        *handed = std::move(busy);
                    }
                });
            }
            if (noted != nullptr && !noted->empty()) {
                if (worker_at_commit) {
                    signal_worker_at_commit = true;  // the worker sequences and notifies
                } else if (!IsolationUsesXactSnapshot()) {
                    at_commit([](Spi& spi) {
                        std::vector<pg_uuid_t> projects = *noted;
                        for (const auto& p : projects)
                            if (!listed(handed, p)) sequence_pending(spi, true, &p);
                    });
                } else {
                    // REPEATABLE READ / SERIALIZABLE without the worker (no local
                    // events): the events stay pending (a snapshot-bound sequencer
                    // could miss newer events) for the on-demand sequencer, or else the
                    // next READ COMMITTED sequencing of the project.
                    guard([]() -> Datum {
                        if (ensure_sequencer()) {
                            if (handed == nullptr) handed = new std::vector<pg_uuid_t>();
                            *handed = *noted;
                        }
                        return 0;
                    });
                }
            }
            break;
        case XACT_EVENT_PRE_PREPARE:
            // A prepared transaction cannot NOTIFY: its local events wait in the
            // pending tables, like its other events, until COMMIT PREPARED.
            if (local_events != nullptr && !local_events->empty()) {
                at_commit([](Spi& spi) {
                    std::vector<LocalEvent> events;
                    events.swap(*local_events);
                    prepare_local_events(spi, events);
                });
            }
            break;
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_PARALLEL_COMMIT:
            if (signal_worker_at_commit) wake_worker();
            if ((handed != nullptr && !handed->empty()) || sequencer_at_commit) wake_sequencer();
            signal_worker_at_commit = false;
            sequencer_at_commit = false;
            if (handed != nullptr) handed->clear();
            forget_noted();
            drop_local_events();
            break;
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PARALLEL_ABORT:
        case XACT_EVENT_PREPARE:  // prepared events stay pending (NOTIFY cannot be prepared)
            signal_worker_at_commit = false;
            sequencer_at_commit = false;
            if (handed != nullptr) handed->clear();
            forget_noted();
            drop_local_events();
            break;
        default:
            break;
    }
}

// A rolled-back subtransaction drops the local events it made and forgets the
// projects it noted (with those of the subtransactions it contained, which have
// higher ids). The transaction's later events still go to the pending tables
// (events_pending_in_xact stays).
void subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId, void*) {
    if (event != SUBXACT_EVENT_ABORT_SUB) return;
    if (local_events != nullptr) {
        auto& v = *local_events;
        v.erase(std::remove_if(v.begin(), v.end(), [mySubid](const LocalEvent& l) { return l.subid >= mySubid; }),
                v.end());
    }
    if (noted != nullptr) {
        std::size_t kept = 0;
        for (std::size_t i = 0; i < noted->size(); ++i) {
            if ((*noted_in)[i] >= mySubid) continue;
            (*noted)[kept] = (*noted)[i];
            (*noted_in)[kept++] = (*noted_in)[i];
        }
        noted->resize(kept);
        noted_in->resize(kept);
    }
}

// COMMIT PREPARED and ROLLBACK PREPARED run none of the prepared transaction's
// commit or abort callbacks, and the session that runs them may not be the one
// that prepared it: the utility hook below does, once the statement has finished
// the prepared transaction (visible to every new snapshot from here), what the
// callbacks would have done:
//  * lock waiters: the waiters of every file waited for in the database are woken
//    (shared.hpp, wake_database_lock_waiters), the transaction's files being
//    unknown here. At COMMIT PREPARED this wakes the waiters of its releases,
//    asleep on their latches (before, they looked again within a second, on
//    their own); at ROLLBACK PREPARED, as an abort wakes the files it took locks
//    of, although their waiters wait in the lock manager for the acquisition
//    locks it held (lock_queue.hpp), and go on when it ends;
//  * the feed, at COMMIT PREPARED: the events it had moved to the pending tables
//    (XACT_EVENT_PRE_PREPARE) would wait for the worker's next timed round
//    (worker_interval), or without the worker for the next commit of their
//    project: the worker is woken as a committing transaction wakes it, or else
//    they are handed to the on-demand sequencer (sequencer.hpp), woken after the
//    statement's own commit.
// The hook exists only in a backend that loaded the library (every backend when
// it is preloaded). Plain C, outside the boundary guard: an error of the standard
// processing propagates untouched, and nothing after it may turn the finished
// statement into an error (it cannot be undone): the wake-ups raise nothing, and
// the hand-over runs in a subtransaction whose error is reported as a WARNING
// (only a failure to start or end that subtransaction, out of memory, would
// still raise, as around a PL/pgSQL EXCEPTION block).
ProcessUtility_hook_type prev_process_utility = nullptr;

// In the subtransaction of hand_prepared_events(): *arg (a bool) is set when a
// sequencer will number the events. Raises PostgreSQL errors only.
void hand_over(void* arg) {
    if (!OidIsValid(get_extension_oid("concurrent_edit", true))) return;  // nothing of ours here
    *static_cast<bool*>(arg) = ensure_sequencer_from_hook();
}

// After COMMIT PREPARED without a worker for the database: hands the events of
// the prepared transaction (all pending events of the database: its own are not
// known here) to the on-demand sequencer. False when none takes them (turned
// off, leaving, no worker slot, or an error, reported as a WARNING): they wait,
// as before, for the next commit of their project.
bool hand_prepared_events() {
    MemoryContext cxt = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    bool handed = false;
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(cxt);
    ErrorData* error = detail::run_pg_try(hand_over, &handed);
    if (error == nullptr)
        ReleaseCurrentSubTransaction();
    else
        RollbackAndReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(cxt);
    CurrentResourceOwner = owner;
    if (error == nullptr) return handed;
    ereport(WARNING, (errmsg("concurrent_edit: the change events of the prepared transaction were not handed to "
                             "the sequencer: %s",
                             error->message != nullptr ? error->message : "error"),
                      errdetail("They wait for the next commit of their project.")));
    FreeErrorData(error);
    return false;
}

void feed_process_utility(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                          ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* query_env,
                          DestReceiver* dest, QueryCompletion* qc) {
    Node* stmt = pstmt->utilityStmt;
    TransactionStmtKind kind = TRANS_STMT_BEGIN;
    if (stmt != nullptr && IsA(stmt, TransactionStmt)) kind = castNode(TransactionStmt, stmt)->kind;
    if (prev_process_utility != nullptr)
        prev_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
    else
        standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
    if (stmt != nullptr && IsA(stmt, DropRoleStmt)) note_role_drop_statement();  // access.cpp
    if (kind != TRANS_STMT_COMMIT_PREPARED && kind != TRANS_STMT_ROLLBACK_PREPARED) return;
    wake_database_lock_waiters(MyDatabaseId);
    if (kind != TRANS_STMT_COMMIT_PREPARED) return;
    note_roles_dropped();  // it may have dropped one
    if (worker_serves_this_database())
        wake_worker();
    else if (hand_prepared_events())
        sequencer_at_commit = true;
}

}  // namespace

ChangeEvent file_event(const char* event, const pg_uuid_t& project, const pg_uuid_t& file, const pg_uuid_t& session,
                       const pg_uuid_t& author, std::string path, int32 version, std::string content_hash,
                       std::string extra) {
    ChangeEvent ev;
    ev.event = event;
    ev.project_id = project;
    ev.file_id = file;
    ev.session_id = session;
    ev.author = author;
    ev.path = std::move(path);
    ev.version = version;
    ev.content_hash = std::move(content_hash);
    ev.extra = std::move(extra);
    return ev;
}

namespace {

// Whether queue_change() keeps an event made now in the backend (LocalEvent).
bool keeps_local() {
    return !events_pending_in_xact && (local_events == nullptr || local_events->size() < kMaxLocalEvents) &&
           !pg_call([] { return IsolationUsesXactSnapshot(); });
}

}  // namespace

void insert_pending(Spi& spi, const ChangeEvent& e) {
    static Statement ins(
        "INSERT INTO concurrent_edit.change_pending (project_id, " CE_EVENT_COLUMNS ") "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)",
        {UUIDOID, TEXTOID, UUIDOID, TEXTOID, INT4OID, TEXTOID, UUIDOID, UUIDOID, TEXTOID});
    ins.run(spi, event_args(e), event_nulls(e));
    note_project(e.project_id);
}

// Whether this transaction put events of `p` into the pending tables.
bool has_own_pending(const pg_uuid_t& p) {
    return listed(noted, p);
}


bool lock_events_at_commit() { return keeps_local() && !worker_serves_this_database(); }

void queue_change(Spi& spi, ChangeEvent e) {
    if (!keeps_local()) {
        insert_pending(spi, e);
        return;
    }
    if (local_events == nullptr) local_events = new std::vector<LocalEvent>();
    SubTransactionId sub = pg_call([] { return GetCurrentSubTransactionId(); });
    local_events->push_back(LocalEvent{std::move(e), sub});
}

void note_pending(const pg_uuid_t& project_id) { note_project(project_id); }

std::string channel_name(const pg_uuid_t& project_id) {
    static const char hex[] = "0123456789abcdef";
    std::string s = "concurrent_edit_";
    for (unsigned char b : project_id.data) {
        s.push_back(hex[b >> 4]);
        s.push_back(hex[b & 15]);
    }
    return s;
}

void register_feed_callbacks() {
    RegisterXactCallback(xact_callback, nullptr);
    RegisterSubXactCallback(subxact_callback, nullptr);
    prev_process_utility = ProcessUtility_hook;
    ProcessUtility_hook = feed_process_utility;
}

}  // namespace ce::pg

using namespace ce::pg;

// _feed_cursors_ok(last_cursor bigint, pruned_through bigint): the check of
// change_feeds (change_feeds_cursor_check in 30_feed.sql), one C call that every
// numbering statement plans instead of three comparisons. NULLs pass, as in a
// CHECK (the columns are NOT NULL).
CE_FUNCTION(ce_feed_cursors_ok) {
    std::optional<int64> last = int8_opt(fcinfo, 0), pruned = int8_opt(fcinfo, 1);
    return BoolGetDatum((!last || *last >= 0) && (!pruned || *pruned >= 0) && (!last || !pruned || *pruned <= *last));
}

// channel_name(project_id uuid) RETURNS text
CE_FUNCTION(ce_channel_name) {
    pg_uuid_t project = uuid_required(fcinfo, 0, "project_id");
    return text_datum(channel_name(project));
}

// changes_since(project_id uuid, cursor bigint, max_events integer DEFAULT NULL)
//   RETURNS SETOF change_event
CE_FUNCTION(ce_changes_since) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        throw SqlError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "project_id and cursor must not be NULL",
                       "{\"arguments\": [\"project_id\", \"cursor\"]}");
    pg_uuid_t project = uuid_arg(fcinfo, 0).value;
    int64 cursor = PG_GETARG_INT64(1);
    std::optional<int32> max_events = int4_opt(fcinfo, 2);
    if (max_events && *max_events < 0)
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "max_events must not be negative",
                       "{\"argument\": \"max_events\", \"value\": " + std::to_string(*max_events) + "}");
    if (cursor < 0)
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "cursor must not be negative",
                       ce::Detail().add("argument", "cursor").add_json("value", json_cursor(cursor)),
                       "Start from 0 (every retained event) or from a cursor the feed returned.");
    ApiCall call;
    call.require(project, Right::read);
    static Statement feed("SELECT f.pruned_through, f.last_cursor FROM concurrent_edit.change_feeds f "
                          "WHERE f.project_id = $1",
                          {UUIDOID});
    {
        Rows f = feed.run(call.spi(), {uuid_datum(project)}, {}, true);
        int64 pruned = f.empty() ? 0 : f.int8(0, 0);
        if (cursor < pruned) {  // a feed row exists: pruned_through > 0
            int64 last = f.int8(0, 1);
            throw SqlError(CE_ERRCODE_CURSOR_EXPIRED,
                           "cursor " + std::to_string(cursor) + " is older than the retained change feed",
                           ce::Detail()
                               .add("project_id", uuid_to_string(project))
                               .add_json("cursor", json_cursor(cursor))
                               .add_json("pruned_through", json_cursor(pruned))
                               .add_json("last_cursor", json_cursor(last)),
                           "Re-read the files you need, then continue from last_cursor (feed_position()).");
        }
    }
    static Statement q(
        "SELECT l.cursor, l.event, l.file_id, l.path, l.version, l.content_hash, l.session_id, l.author, "
        "       l.details, l.created_at FROM concurrent_edit.change_log l "
        "WHERE l.project_id = $1 AND l.cursor > $2 ORDER BY l.cursor LIMIT $3",
        {UUIDOID, INT8OID, INT8OID});
    // Read in batches into the result (a tuplestore, which goes to disk beyond
    // work_mem), each batch freed once copied: the backend's memory stays bounded
    // however many events follow the cursor. Every batch reads the call's snapshot.
    constexpr int64 kBatch = 1000;
    SetResult result(fcinfo);
    int64 left = max_events ? *max_events : PG_INT64_MAX;
    while (left > 0) {
        check_interrupts();
        int64 n = std::min(left, kBatch);
        Rows rows = q.run(call.spi(), {uuid_datum(project), Int64GetDatum(cursor), Int64GetDatum(n)}, {}, true);
        uint64 got = rows.size();
        if (got == 0) break;
        cursor = rows.int8(got - 1, 0);
        result.add_rows(rows);
        rows.release();
        left -= static_cast<int64>(got);
        if (static_cast<int64>(got) < n) break;
    }
    call.finish();
    return result.done();
}

// feed_position(project_id uuid) RETURNS bigint: the cursor of the project's newest
// sequenced event, 0 when it has none.
CE_FUNCTION(ce_feed_position) {
    pg_uuid_t project = uuid_required(fcinfo, 0, "project_id");
    ApiCall call;
    call.require(project, Right::read);
    static Statement q("SELECT f.last_cursor FROM concurrent_edit.change_feeds f WHERE f.project_id = $1", {UUIDOID});
    int64 last = 0;
    {
        Rows r = q.run(call.spi(), {uuid_datum(project)}, {}, true);
        if (!r.empty()) last = r.int8(0, 0);
    }
    call.finish();
    return Int64GetDatum(last);
}

// prune_changes(older_than interval DEFAULT '30 days', project_id uuid DEFAULT NULL) RETURNS bigint
CE_PRIMARY_FUNCTION(ce_prune_changes, "prune_changes") {
    std::optional<int64> older_than = interval_usecs_opt(fcinfo, 0);
    UuidArg project = uuid_arg(fcinfo, 1);
    if (!older_than)
        throw SqlError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "older_than must not be NULL", "{\"argument\": \"older_than\"}");
    if (*older_than < 0)
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "older_than must be a non-negative interval",
                       "{\"argument\": \"older_than\"}");
    ApiCall call;
    if (project.null) call.require_on_all(Right::admin);
    else call.require(project.value, Right::admin);
    // The cut-off, saturated: an interval longer than the timestamp range prunes nothing.
    int64 now = pg_call([] { return GetCurrentTransactionStartTimestamp(); });
    int64 cutoff = (*older_than > now - MIN_TIMESTAMP) ? DT_NOBEGIN : now - *older_than;
    // Each project is cut before its first event that is not old: created_at is
    // its transaction's start and cursors follow commits, so an old event can
    // follow a newer one (a long transaction), and cutting at the largest old
    // cursor deleted the newer ones before it.
    static Statement projects(
        "SELECT c.project_id, c.upto FROM (SELECT f.project_id, f.pruned_through, "
        "    coalesce((SELECT n.cursor - 1 FROM concurrent_edit.change_log n "
        "              WHERE n.project_id = f.project_id AND n.created_at >= $2 ORDER BY n.cursor LIMIT 1), "
        "             (SELECT max(l.cursor) FROM concurrent_edit.change_log l WHERE l.project_id = f.project_id)) AS upto "
        "  FROM concurrent_edit.change_feeds f WHERE ($1::uuid IS NULL OR f.project_id = $1)) c "
        "WHERE c.upto > c.pruned_through ORDER BY c.project_id",
        {UUIDOID, TIMESTAMPTZOID});
    // The feed row lock keeps sequencers of the project out while it is cut.
    static Statement cut(
        "WITH lk AS (SELECT f.project_id FROM concurrent_edit.change_feeds f WHERE f.project_id = $1 FOR UPDATE), "
        "d AS (DELETE FROM concurrent_edit.change_log l USING lk WHERE l.project_id = lk.project_id "
        "      AND l.cursor <= $2 RETURNING 1), "
        "u AS (UPDATE concurrent_edit.change_feeds f SET pruned_through = greatest(f.pruned_through, $2) "
        "      FROM lk WHERE f.project_id = lk.project_id RETURNING 1) "
        "SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM u)",
        {UUIDOID, INT8OID});
    struct Cut {
        pg_uuid_t project;
        int64 upto;
    };
    std::vector<Cut> cuts;
    {
        Rows r = projects.run(call.spi(), {uuid_datum(project.value), TimestampTzGetDatum(cutoff)},
                              project.null ? "n " : "  ");
        for (uint64 i = 0; i < r.size(); ++i) cuts.push_back(Cut{r.uuid(i, 0), r.int8(i, 1)});
    }
    int64 deleted = 0;
    for (const Cut& c : cuts) {
        check_interrupts();
        deleted += cut.run(call.spi(), {uuid_datum(c.project), Int64GetDatum(c.upto)}).int8(0, 0);
    }
    call.finish();
    return Int64GetDatum(deleted);
}
