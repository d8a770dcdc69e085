// The sequencer of the change feed (feed_sequencer.hpp): events into change_log
// with consecutive cursors per project, and their NOTIFYs.
#include "pg/feed_sequencer.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "pg/api.hpp"
#include "pg/guc.hpp"
#include "pg/results.hpp"
#include "pg/sequencer.hpp"
#include "pg/tables.hpp"

namespace ce::pg {

std::vector<Datum> event_args(const ChangeEvent& e) {
    return {uuid_datum(e.project_id), text_datum(e.event),        uuid_datum(e.file_id),
            text_datum(e.path),       Int32GetDatum(e.version),   text_datum(e.content_hash),
            uuid_datum(e.session_id), uuid_datum(e.author),       text_datum("{" + e.extra + "}")};
}

std::string event_nulls(const ChangeEvent& e) {
    std::string nulls(9, ' ');
    if (uuid_is_null(e.file_id)) nulls[2] = 'n';
    if (e.path.empty()) nulls[3] = 'n';
    if (e.version <= 0) nulls[4] = 'n';
    if (e.content_hash.empty()) nulls[5] = 'n';
    if (uuid_is_null(e.session_id)) nulls[6] = 'n';
    if (uuid_is_null(e.author)) nulls[7] = 'n';
    return nulls;
}

namespace {

// The NOTIFY payload of an event: ids and the cursor only (the cursor as a JSON
// string, like every cursor in the JSON of the extension: json_cursor()).
std::string payload(const char* event, int64 cursor, const pg_uuid_t& project, const pg_uuid_t& file) {
    std::string p = "{\"event\": ";
    append_json_string(p, event);
    p += ", \"cursor\": " + json_cursor(cursor);
    p += ", \"project_id\": " + json_uuid(project);
    p += ", \"file_id\": " + json_uuid(file) + "}";
    return p;
}

bool feed_row_exists(Spi& spi, const pg_uuid_t& project) {
    static Statement exists("SELECT FROM concurrent_edit.change_feeds f WHERE f.project_id = $1", {UUIDOID});
    return !exists.run(spi, {uuid_datum(project)}).empty();
}

// Makes the project's feed row if it is missing. With `skip_locked`, false when it
// exists (then another transaction holds it: the caller's SKIP LOCKED found nothing).
bool ensure_feed_row(Spi& spi, const pg_uuid_t& project, bool skip_locked) {
    static Statement ensure(
        "INSERT INTO concurrent_edit.change_feeds (project_id, last_cursor) VALUES ($1, 0) "
        "ON CONFLICT (project_id) DO NOTHING",
        {UUIDOID});
    if (skip_locked && feed_row_exists(spi, project)) return false;
    ensure.run(spi, {uuid_datum(project)});
    return true;
}

// Takes the project's feed row (made if missing), held to the end of the
// transaction, and returns its last cursor. Whoever sequences takes it before it
// touches the project's pending rows: one lock order (feed row, then pending rows)
// for the worker and every committing transaction.
//
// With `skip_locked` (the worker), nullopt when another transaction holds the row:
// a committing writer numbers the pending events itself, and a client's open
// transaction (prune_changes) must not stop the worker's round for every other
// project; the project is sequenced in a later round.
std::optional<int64> lock_feed_row(Spi& spi, const pg_uuid_t& project, bool skip_locked = false) {
    static Statement lock(
        "SELECT f.last_cursor FROM concurrent_edit.change_feeds f WHERE f.project_id = $1 FOR UPDATE", {UUIDOID});
    static Statement try_lock(
        "SELECT f.last_cursor FROM concurrent_edit.change_feeds f WHERE f.project_id = $1 FOR UPDATE SKIP LOCKED",
        {UUIDOID});
    for (bool made = false;; made = true) {
        Rows r = (skip_locked ? try_lock : lock).run(spi, {uuid_datum(project)});
        if (!r.empty()) return r.int8(0, 0);
        if (made || !ensure_feed_row(spi, project, skip_locked)) return std::nullopt;
    }
}

// The pending events (both queues) of project $1 matching `which`, deleted (CTEs
// m1, m2, moved), and their change_log rows numbered from `base` + 1 in arrival
// order: the one list of the event columns and the one numbering rule of the
// sequencer. Columns: cursor, event, file_id.
// Named, not p.*: a column added to one queue by hand must not break the union.
#define CE_MOVED_COLUMNS "project_id, id, " CE_EVENT_COLUMNS ", created_at"
#define CE_DELETE_PENDING(which)                                                                             \
    "m1 AS (DELETE FROM concurrent_edit.change_pending p WHERE p.project_id = $1" which                      \
    "       RETURNING " CE_MOVED_COLUMNS "), "                                                               \
    "m2 AS (DELETE FROM concurrent_edit.change_pending_locks p WHERE p.project_id = $1" which                 \
    "       RETURNING " CE_MOVED_COLUMNS "), "                                                               \
    "moved AS (SELECT * FROM m1 UNION ALL SELECT * FROM m2) "
#define CE_LOG_MOVED(base)                                                                                   \
    "INSERT INTO concurrent_edit.change_log (project_id, cursor, " CE_EVENT_COLUMNS ", created_at) "          \
    "SELECT project_id, " base " + row_number() OVER (ORDER BY id), " CE_EVENT_COLUMNS ", created_at FROM moved " \
    "RETURNING cursor, event, file_id"

// NOTIFYs the events moved (from C or by a statement), in cursor order. Returns
// how many there were.
int64 notify_moved(std::vector<MovedEvent>& moved, const pg_uuid_t& project, bool notify) {
    auto n = static_cast<int64>(moved.size());
    if (!notify) return n;
    std::sort(moved.begin(), moved.end(), [](const MovedEvent& a, const MovedEvent& b) { return a.cursor < b.cursor; });
    std::string channel = channel_name(project);
    for (const MovedEvent& m : moved) {
        send_notification(channel, payload(m.event.c_str(), m.cursor, project, m.file_id));
    }
    return n;
}

// The same for the rows of a statement (cursor, event, file_id; rows with a NULL
// cursor skipped).
int64 notify_moved(const Rows& r, const pg_uuid_t& project, bool notify) {
    std::vector<MovedEvent> moved;
    for (uint64 i = 0; i < r.size(); ++i)
        if (!r.isnull(i, 0)) moved.push_back(MovedEvent{r.int8(i, 0), r.text(i, 1), r.uuid(i, 2)});
    return notify_moved(moved, project, notify);
}

// Moves the pending event `id` of the project into change_log as number last + 1,
// and NOTIFYs it. The caller holds the feed row and advances it (advance_feed).
// Returns how many were moved (0 or 1).
int64 move_event(Spi& spi, const pg_uuid_t& project, int64 last, bool notify, int64 id) {
    static Statement move_one("WITH " CE_DELETE_PENDING(" AND p.id = $3") CE_LOG_MOVED("$2"), {UUIDOID, INT8OID, INT8OID});
    Rows r = move_one.run(spi, {uuid_datum(project), Int64GetDatum(last), Int64GetDatum(id)});
    return notify_moved(r, project, notify);
}

void advance_feed(Spi& spi, const pg_uuid_t& project, int64 last) {
    static Statement advance(
        "UPDATE concurrent_edit.change_feeds SET last_cursor = $2 WHERE project_id = $1", {UUIDOID, INT8OID});
    advance.run(spi, {uuid_datum(project), Int64GetDatum(last)});
}

// Moves the pending events of one project (at most `limit`, its oldest, when
// limit > 0) into change_log with consecutive cursors, then NOTIFYs them: one
// statement takes the feed row (lk: the lock serializes sequencers), moves the
// events after the row's last cursor and advances it. (As three statements, the
// row lock, the move and the update, the first and the last took about a quarter
// of the worker's time per round, mostly fixed costs of a statement.)
//
// With `skip_locked` (the worker) the statement skips the row when another
// transaction holds it; a missing row is made and the statement run again.
// Otherwise the row is taken (waiting for it) by a statement of its own first: the
// moving statement's snapshot, taken after it, then sees every event committed
// before the row was ours, which must come before the events numbered after them.
int64 sequence_project(Spi& spi, const pg_uuid_t& project, bool notify, int64 limit = 0, bool skip_locked = false) {
    // $2: the batch (NULL: every event); c: the id of the last event of the batch.
#define CE_SEQUENCE_PROJECT(lock)                                                                            \
    "WITH lk AS (SELECT f.last_cursor FROM concurrent_edit.change_feeds f WHERE f.project_id = $1 "           \
    "            FOR UPDATE" lock "), "                                                                      \
    "c AS (SELECT max(o.id) AS id FROM (SELECT a.id FROM ("                                                  \
    "    SELECT p.id FROM concurrent_edit.change_pending p WHERE p.project_id = $1 UNION ALL "                 \
    "    SELECT p.id FROM concurrent_edit.change_pending_locks p WHERE p.project_id = $1) a "                  \
    "    ORDER BY a.id LIMIT $2) o), "                                                                       \
    CE_DELETE_PENDING(" AND p.id <= (SELECT c.id FROM c) AND EXISTS (SELECT FROM lk)")                        \
    ", l AS (" CE_LOG_MOVED("(SELECT lk.last_cursor FROM lk)") "), "                                          \
    "adv AS (UPDATE concurrent_edit.change_feeds f SET last_cursor = f.last_cursor + (SELECT count(*) FROM l) " \
    "        WHERE f.project_id = $1 AND EXISTS (SELECT FROM l) AND EXISTS (SELECT FROM lk)) "                \
    "SELECT l.cursor, l.event, l.file_id, t.taken FROM (SELECT EXISTS (SELECT FROM lk) AS taken) t "          \
    "LEFT JOIN l ON true"
    static Statement wait(CE_SEQUENCE_PROJECT(""), {UUIDOID, INT8OID});
    static Statement skip(CE_SEQUENCE_PROJECT(" SKIP LOCKED"), {UUIDOID, INT8OID});
#undef CE_SEQUENCE_PROJECT
#undef CE_LOG_MOVED
#undef CE_DELETE_PENDING
#undef CE_MOVED_COLUMNS
    if (!skip_locked) (void)lock_feed_row(spi, project);
    for (bool made = false;; made = true) {
        MovedPending m = move_pending(project, limit, skip_locked);  // from C, where it can
        if (m.done && m.taken) return notify_moved(m.events, project, notify);
        if (!m.done) {
            Rows r = (skip_locked ? skip : wait).run(spi, {uuid_datum(project), Int64GetDatum(limit)}, limit > 0 ? "  " : " n");
            if (r.boolean(0, 3)) return notify_moved(r, project, notify);
        }
        if (made || !ensure_feed_row(spi, project, skip_locked)) return 0;
    }
}

// Only an event's own data (class 22, data exception, or 23, integrity constraint
// violation) makes it bad; anything else (a cancel, a timeout, a lack of resources)
// is raised again: the transaction fails and the events wait for the next run.
void rethrow_unless_bad_data(const CaughtError& e) {
    if (is_bad_data(e.sqlerrcode)) return;
    throw SqlError(e.sqlerrcode, e.message, e.detail);
}

// Sequences a project's pending events one at a time, each in its own
// subtransaction, and moves those that fail into change_pending_rejected (with the
// error), logging each. With `skip_own`, the current transaction's own pending
// events are left where they are (sequence_local: they follow its local events).
// Returns how many were sequenced.
//
// The feed row is taken and advanced in the calling transaction, the
// subtransactions only move or set aside events: setting an event aside while a
// committing writer held the row (a failed subtransaction releases the row it
// took) deadlocked with that writer, which waited for the pending row (40P01,
// the writer's COMMIT failed); and a row locked by the transaction and updated
// in a subtransaction would take a MultiXact per event.
//
// At most `limit` events when limit > 0 (the worker's batch: a long backlog
// behind a bad event is sequenced in several transactions, each holding the
// memory of its subtransactions and NOTIFYs for one batch only); `skip_locked` as
// for lock_feed_row.
int64 sequence_one_at_a_time(Spi& spi, const pg_uuid_t& project, bool notify, bool skip_own = false,
                             int64 limit = 0, bool skip_locked = false) {
    static Statement ids(
        "SELECT p.id, p.xmin::text::bigint FROM concurrent_edit.change_pending p WHERE p.project_id = $1 "
        "UNION ALL SELECT p.id, p.xmin::text::bigint FROM concurrent_edit.change_pending_locks p "
        "WHERE p.project_id = $1 ORDER BY 1",
        {UUIDOID}, Scans::by_key);
    static Statement reject(
        "WITH m1 AS (DELETE FROM concurrent_edit.change_pending p WHERE p.project_id = $1 AND p.id = $2 "
        "            RETURNING p.project_id, p.id, pg_catalog.to_jsonb(p) AS row), "
        "     m2 AS (DELETE FROM concurrent_edit.change_pending_locks p WHERE p.project_id = $1 AND p.id = $2 "
        "            RETURNING p.project_id, p.id, pg_catalog.to_jsonb(p) AS row) "
        "INSERT INTO concurrent_edit.change_pending_rejected (project_id, id, event, error) "
        "SELECT m.project_id, m.id, m.row, $3 FROM (SELECT * FROM m1 UNION ALL SELECT * FROM m2) m",
        {UUIDOID, INT8OID, TEXTOID});
    std::optional<int64> locked = lock_feed_row(spi, project, skip_locked);
    if (!locked) return 0;
    int64 last = *locked;
    std::vector<int64> pending;
    {
        Rows r = ids.run(spi, {uuid_datum(project)});
        for (uint64 i = 0; i < r.size() && (limit <= 0 || static_cast<int64>(pending.size()) < limit); ++i) {
            auto xmin = static_cast<TransactionId>(r.int8(i, 1));
            if (skip_own && pg_call([xmin] { return TransactionIdIsCurrentTransactionId(xmin); })) continue;
            pending.push_back(r.int8(i, 0));
        }
    }
    int64 sequenced = 0;
    for (int64 id : pending) {
        check_interrupts();
        int64 n = 0;
        CaughtError error;
        if (subtransaction([&] { n = move_event(spi, project, last + sequenced, notify, id); }, &error)) {
            sequenced += n;
            continue;
        }
        rethrow_unless_bad_data(error);
        if (!subtransaction([&] { reject.run(spi, {uuid_datum(project), Int64GetDatum(id), text_datum(error.message)}); },
                            nullptr))
            continue;  // cannot even be set aside: it stays pending, the others go on
        std::string pid = uuid_to_string(project);
        pg_call([&pid, id, &error] {
            ereport(WARNING, (errmsg("concurrent_edit: change event %lld of project %s cannot be sequenced; set aside "
                                     "in concurrent_edit.change_pending_rejected",
                                     static_cast<long long>(id), pid.c_str()),
                              errdetail("%s", error.message.c_str())));
        });
    }
    if (sequenced > 0) advance_feed(spi, project, last + sequenced);
    return sequenced;
}

}  // namespace

// The local events of the transaction, numbered into change_log at its commit:
// one statement per event takes the next cursor of its project (the feed row lock,
// held to the end of the commit, keeps cursors gap-free and in commit order, as for
// the sequencer) and inserts the event. Projects are taken in uuid order (their
// events in the order they were made), as the sequencer takes them, so two
// committing transactions never wait for each other's feed rows in a cycle; nothing
// else is locked after the first feed row. NOTIFYs are sent at commit.
//
// Events already waiting in the pending tables come first: they were committed
// before this transaction took the feed row (a REPEATABLE READ or prepared
// transaction's, a lock cycle's or a busy commit's for the worker), so a later
// write of the same file, or anything that followed them, never gets a lower
// cursor. The statement for a project's first event numbers it only when none
// waits; otherwise the project's pending events are sequenced first under the row
// lock it now holds. The transaction's own pending events stay: they were made
// after its local ones and follow them (sequenced after them, by the worker or
// below).
std::vector<pg_uuid_t> sequence_local(Spi& spi, std::vector<LocalEvent>& events, bool worker) {
    std::stable_sort(events.begin(), events.end(), [](const LocalEvent& a, const LocalEvent& b) {
        return uuid_less(a.ev.project_id, b.ev.project_id);
    });
#define CE_EVENT_PARAMS {UUIDOID, TEXTOID, UUIDOID, TEXTOID, INT4OID, TEXTOID, UUIDOID, UUIDOID, TEXTOID}
#define CE_SOME_PENDING                                                               \
    "(EXISTS (SELECT FROM concurrent_edit.change_pending p WHERE p.project_id = $1) " \
    "OR EXISTS (SELECT FROM concurrent_edit.change_pending_locks p WHERE p.project_id = $1))"
    // The event's change_log row, numbered by the CTE f (its last_cursor).
#define CE_LOG_EVENT                                                                                  \
    "INSERT INTO concurrent_edit.change_log (project_id, cursor, " CE_EVENT_COLUMNS ", created_at) "   \
    "SELECT $1, f.last_cursor, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, pg_catalog.now() FROM f "
    // Whether events wait, looked up once per statement (pend) however often the
    // statement asks: the same snapshot answers every time.
#define CE_PENDING_ONCE "(SELECT pend.waiting FROM pend)"
    // Without the worker: the feed row, waiting for it. Columns: the cursor (NULL
    // when not numbered), whether the feed row is held, whether events wait. A new
    // project's row is made here, or (only_if, events waiting) by the sequencer.
#define CE_TAKE_FEED_ROW(source, only_if)                                                               \
    "WITH pend AS MATERIALIZED (SELECT " CE_SOME_PENDING " AS waiting), "                                \
    "f AS (INSERT INTO concurrent_edit.change_feeds AS c (project_id, last_cursor) " source " "         \
    "      ON CONFLICT (project_id) DO UPDATE SET last_cursor = c.last_cursor + 1 " only_if             \
    "      RETURNING c.last_cursor), "                                                                   \
    "l AS (" CE_LOG_EVENT "RETURNING cursor) "                                                          \
    "SELECT (SELECT l.cursor FROM l), true, " CE_PENDING_ONCE
    // With the worker: the feed row only if no other transaction holds it (it is
    // then committing events of the project); else the project's events go to the
    // worker through change_pending, so committing writers of one project never
    // queue behind each other's commit.
#define CE_TAKE_FEED_ROW_IF_FREE(only_if)                                                               \
    "WITH lk AS (SELECT c.project_id FROM concurrent_edit.change_feeds c WHERE c.project_id = $1 "      \
    "            FOR UPDATE SKIP LOCKED), "                                                             \
    "f AS (UPDATE concurrent_edit.change_feeds c SET last_cursor = c.last_cursor + 1 FROM lk "          \
    "      WHERE c.project_id = lk.project_id " only_if " RETURNING c.last_cursor), "                    \
    "l AS (" CE_LOG_EVENT "RETURNING cursor) "                                                          \
    "SELECT (SELECT l.cursor FROM l), EXISTS (SELECT FROM lk), false"
    static Statement one_checked(CE_TAKE_FEED_ROW("VALUES ($1, 1)", ""), CE_EVENT_PARAMS);
    static Statement one_if_free(CE_TAKE_FEED_ROW_IF_FREE(""), CE_EVENT_PARAMS);
    static Statement first_checked(
        CE_TAKE_FEED_ROW("SELECT $1, 1 WHERE NOT " CE_PENDING_ONCE, "WHERE NOT " CE_PENDING_ONCE), CE_EVENT_PARAMS,
        Scans::by_key);
    static Statement first_if_free(CE_TAKE_FEED_ROW_IF_FREE("AND NOT " CE_SOME_PENDING), CE_EVENT_PARAMS,
                                   Scans::by_key);
#undef CE_TAKE_FEED_ROW_IF_FREE
#undef CE_TAKE_FEED_ROW
#undef CE_PENDING_ONCE
#undef CE_LOG_EVENT
#undef CE_SOME_PENDING
#undef CE_EVENT_PARAMS
    // Without the worker, a busy row is not waited for either when a sequencer can
    // be started on demand (sequencer.hpp) and the commit waits for a WAL flush; a
    // missing row is made here. (With synchronous_commit off the holder's commit
    // waits for no flush either: waiting for its row cost less CPU than a second
    // transaction, docs/benchmarks.md.)
    bool skip = worker || (guc_on_demand_sequencer && synchronous_commit > SYNCHRONOUS_COMMIT_OFF);
    IndexScansOnly scans(!worker);
    std::vector<pg_uuid_t> waiting;  // projects with pending events to sequence after (no worker)
    std::vector<pg_uuid_t> handed;   // projects whose events went to the worker or the sequencer
    std::vector<std::string> channels, payloads;
    const pg_uuid_t* to_worker = nullptr;  // the project whose events go to the worker (or sequencer)
    const pg_uuid_t* numbered = nullptr;   // the project whose first event is numbered
    for (const LocalEvent& l : events) {
        const ChangeEvent& e = l.ev;
        if (to_worker != nullptr && uuid_eq(*to_worker, e.project_id)) {
            insert_pending(spi, e);
            continue;
        }
        struct Taken {
            bool numbered, held, pending;
            int64 cursor;
            bool busy = false;  // the row exists and another transaction holds it (known from C)
        };
        auto take = [&](Statement& q) {
            Rows r = q.run(spi, event_args(e), event_nulls(e));
            bool numbered = !r.isnull(0, 0);
            return Taken{numbered, r.boolean(0, 1), r.boolean(0, 2), numbered ? r.int8(0, 0) : 0};
        };
        // The project's first event checks for waiting events; the next ones follow
        // it under the row already held.
        bool first = numbered == nullptr || !uuid_eq(*numbered, e.project_id);
        auto log_event = [&](bool skip_busy) {
            LocalTaken c = log_local_event(e, first, skip_busy);
            return c.done ? Taken{c.numbered, c.held, c.pending, c.cursor, !c.held}
                          : take(first ? (skip_busy ? first_if_free : first_checked)
                                       : (skip_busy ? one_if_free : one_checked));
        };
        Taken t = log_event(skip);
        // The feed row is busy (or new): this project's events to the worker, or
        // without it to the sequencer if the row exists and one runs; else the row
        // is waited for. Also when the transaction already put events of the project
        // into the pending tables: handed over, its local events would get pending
        // ids after those, which it made later.
        if (!t.held && (has_own_pending(e.project_id) ||
                        (!worker && ((!t.busy && !feed_row_exists(spi, e.project_id)) || !ensure_sequencer()))))
            t = log_event(false);
        if (!t.held) {
            to_worker = &e.project_id;
            handed.push_back(e.project_id);
            insert_pending(spi, e);
            continue;
        }
        if (!t.numbered) {  // events wait: theirs take the next cursors first
            if (has_own_pending(e.project_id)) sequence_one_at_a_time(spi, e.project_id, true, true);
            else sequence_pending(spi, true, &e.project_id);
            t = take(worker ? one_if_free : one_checked);  // the row is held (or made): numbered now
            if (!t.numbered)
                throw SqlError(CE_ERRCODE_INTERNAL, "internal error in concurrent_edit: the feed row was lost",
                               ce::Detail().add("project_id", uuid_to_string(e.project_id)));
        }
        numbered = &e.project_id;
        if (t.pending) {
            auto it = std::lower_bound(waiting.begin(), waiting.end(), e.project_id, uuid_less);
            if (it == waiting.end() || !uuid_eq(*it, e.project_id)) waiting.insert(it, e.project_id);
        }
        channels.push_back(channel_name(e.project_id));
        payloads.push_back(payload(e.event.c_str(), t.cursor, e.project_id, e.file_id));
    }
    for (std::size_t i = 0; i < channels.size(); ++i) send_notification(channels[i], payloads[i]);
    for (const auto& p : waiting) sequence_pending(spi, true, &p);
    return handed;
}

namespace {

// The projects with pending events, in uuid order: a skip scan over the primary key
// (project_id, id) of each queue, the first visible row after the last project
// found until there is none, with a snapshot taken as for a statement. Index scans
// called from C, read-only: the recursive statement that did the same took a fifth
// of the worker's time per round, about half of it setting up its plan.
std::vector<pg_uuid_t> pending_projects() {
    struct Found {
        pg_uuid_t* ids;
        int n;
    };
    Found found = pg_call([] {
        Oid nsp = get_namespace_oid("concurrent_edit", false);
        int cap = 16, n = 0;
        auto* ids = static_cast<pg_uuid_t*>(palloc(cap * sizeof(pg_uuid_t)));
        PushActiveSnapshot(GetTransactionSnapshot());
        for (const char* name : {"change_pending", "change_pending_locks"}) {
            Relation rel = table_open(own_table(nsp, name), AccessShareLock);
            Oid index = primary_key_of(rel, {"project_id", "id"});
            if (TupleDescAttr(RelationGetDescr(rel), column_of(rel, "project_id") - 1)->atttypid != UUIDOID)
                ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                                errmsg("concurrent_edit.%s.project_id is not of type uuid", name),
                                errdetail("{\"table\": \"%s\", \"column\": \"project_id\"}", name),
                                errhint("Reinstall the extension.")));
            pg_uuid_t last;
            for (bool first = true;; first = false) {
                CHECK_FOR_INTERRUPTS();
                ScanKeyData key;  // project_id > the last one found (no key: from the first)
                if (!first) ScanKeyInit(&key, 1, BTGreaterStrategyNumber, F_UUID_GT, UUIDPGetDatum(&last));
                SysScanDesc scan = systable_beginscan(rel, index, true, GetActiveSnapshot(), first ? 0 : 1, &key);
                HeapTuple t = systable_getnext(scan);
                bool got = HeapTupleIsValid(t);
                if (got) {
                    bool isnull;
                    Datum d = heap_getattr(t, 1, RelationGetDescr(rel), &isnull);
                    last = *DatumGetUUIDP(d);
                    if (n == cap) {
                        cap *= 2;
                        ids = static_cast<pg_uuid_t*>(repalloc(ids, cap * sizeof(pg_uuid_t)));
                    }
                    ids[n++] = last;
                }
                systable_endscan(scan);
                if (!got) break;
            }
            table_close(rel, AccessShareLock);
        }
        PopActiveSnapshot();
        return Found{ids, n};
    });
    std::vector<pg_uuid_t> projects(found.ids, found.ids + found.n);
    std::sort(projects.begin(), projects.end(), uuid_less);
    projects.erase(std::unique(projects.begin(), projects.end(),
                               [](const pg_uuid_t& a, const pg_uuid_t& b) { return uuid_eq(a, b); }),
                   projects.end());
    return projects;
}

// Sequences one project's pending events (at most `limit` when limit > 0) in a
// subtransaction: an event that cannot be sequenced stops its project only until
// it is set aside, never the other projects. Then the events go one at a time, each
// in a subtransaction, at most `one_by_one` of them when it is above 0.
int64 sequence_project_safely(Spi& spi, const pg_uuid_t& project, bool notify, int64 limit, bool skip_locked,
                              int64 one_by_one = 0) {
    check_interrupts();
    int64 n = 0;
    CaughtError error;
    if (subtransaction([&] { n = sequence_project(spi, project, notify, limit, skip_locked); }, &error)) return n;
    rethrow_unless_bad_data(error);
    return sequence_one_at_a_time(spi, project, notify, false, one_by_one > 0 ? one_by_one : limit, skip_locked);
}

// Subtransactions with an xid that a batch leaves in its transaction's cache in
// shared memory, at most: the cache holds PGPROC_MAX_CACHED_SUBXIDS (64), and past
// that every snapshot taken in the server meanwhile is marked overflowed, its
// readers looking the transaction's xids up in pg_subtrans (and a standby tracks
// them apart). A project takes one (a subtransaction that fails leaves none), or
// one per event when its events go one at a time.
constexpr int64 kSubxactsPerBatch = PGPROC_MAX_CACHED_SUBXIDS - 8;
int64 cached_subxacts() { return MyProc->subxidStatus.count; }

}  // namespace

int64 sequence_pending(Spi& spi, bool notify, const pg_uuid_t* only_project) {
    IndexScansOnly scans;
    std::vector<pg_uuid_t> projects = only_project != nullptr ? std::vector<pg_uuid_t>{*only_project}
                                                              : pending_projects();
    int64 total = 0;
    for (const auto& p : projects) total += sequence_project_safely(spi, p, notify, 0, false);
    return total;
}

int64 sequence_pending_batch(Spi& spi, Batch& batch) {
    IndexScansOnly scans;
    std::vector<pg_uuid_t> projects = pending_projects();
    batch.left_behind = 0;
    // In turn: from the project after the one the last batch ended in, up to the
    // last project, never wrapping around within a transaction (feed rows are
    // taken in uuid order, as everywhere); the projects before it come next.
    auto first = projects.begin();
    if (batch.has_resume) first = std::upper_bound(projects.begin(), projects.end(), batch.resume_after, uuid_less);
    if (first == projects.end()) first = projects.begin();  // none after it: from the first
    int64 total = 0;
    for (auto it = first; it != projects.end(); ++it) {
        int64 left = batch.budget - total;
        int64 slots = std::max<int64>(1, kSubxactsPerBatch - cached_subxacts());
        int64 n = sequence_project_safely(spi, *it, true, left, true, std::min(left, slots));
        if (n == 0) ++batch.left_behind;
        total += n;
        if (total >= batch.budget) {
            batch.more = batch.has_resume = true;
            batch.resume_after = *it;
            return total;
        }
        // The cache is full (kSubxactsPerBatch): the batch ends, and the next
        // one, at once, begins with this project (its events may have gone one
        // at a time, and some be left).
        if (cached_subxacts() >= kSubxactsPerBatch) {
            batch.more = true;
            batch.has_resume = it != projects.begin();
            if (batch.has_resume) batch.resume_after = *(it - 1);
            return total;
        }
    }
    batch.more = first != projects.begin();
    batch.has_resume = false;
    return total;
}

namespace {

// Whether the current transaction sends its notifications: decided at its first
// one (notify_lxid), from how full PostgreSQL's notification queue is, looked at
// once a second at most (notify_checked_at): pg_notification_queue_usage() first
// advances the queue's tail, under two of the server's exclusive locks.
LocalTransactionId notify_lxid = InvalidLocalTransactionId;
bool notify_allowed = true;
TimestampTz notify_checked_at = 0, notify_warned_at = 0;

// How full the queue is, compared with the limit, at `now` (the caller's
// transaction start); a WARNING, at most once a minute, when above it.
void look_at_queue(TimestampTz now) {
    notify_checked_at = now;
    LOCAL_FCINFO(fcinfo, 0);
    InitFunctionCallInfoData(*fcinfo, nullptr, 0, InvalidOid, nullptr, nullptr);
    double usage = DatumGetFloat8(pg_notification_queue_usage(fcinfo));
    notify_allowed = !(usage > guc_notify_queue_limit);
    if (notify_allowed || (notify_warned_at != 0 && !TimestampDifferenceExceeds(notify_warned_at, now, 60 * 1000)))
        return;
    notify_warned_at = now;
    ereport(WARNING,
            (errmsg("concurrent_edit sends no change notifications while PostgreSQL's notification queue is "
                    "%.3g%% full, above concurrent_edit.notify_queue_limit (%.3g%%)",
                    usage * 100, guc_notify_queue_limit * 100),
             errdetail("{\"queue_usage\": %.6f, \"notify_queue_limit\": %.6f}", usage, guc_notify_queue_limit),
             errhint("A session that LISTENs and stays in a transaction holds the queue: end it "
                     "(pg_stat_activity). The change feed keeps every event; listeners catch up with "
                     "changes_since() at the next notification they receive.")));
}

// Plain C: it runs inside pg_call.
void queue_notification(const char* channel, const char* payload) {
    if (MyProc->lxid != notify_lxid) {
        notify_lxid = MyProc->lxid;
        TimestampTz start = GetCurrentTransactionStartTimestamp();
        if (notify_checked_at == 0 || start < notify_checked_at ||
            TimestampDifferenceExceeds(notify_checked_at, start, 1000))
            look_at_queue(start);
    }
    if (notify_allowed) Async_Notify(channel, payload);
}

}  // namespace

void send_notification(const std::string& channel, const std::string& payload) {
    const char* ch = channel.c_str();
    const char* pl = payload.c_str();
    pg_call([ch, pl] { queue_notification(ch, pl); });
}

}  // namespace ce::pg
