#include "pg/changes.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "pg/shared.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_authid_d.h"
#include "catalog/pg_extension.h"
#include "commands/async.h"
#include "commands/extension.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace ce::pg {
namespace {

// Projects that got pending events in the current transaction (malloc'd,
// emptied at the end of every transaction).
std::vector<pg_uuid_t>* noted = nullptr;
bool signal_worker_at_commit = false;

bool uuid_less(const pg_uuid_t& a, const pg_uuid_t& b) { return std::memcmp(a.data, b.data, UUID_LEN) < 0; }
bool uuid_eq(const pg_uuid_t& a, const pg_uuid_t& b) { return std::memcmp(a.data, b.data, UUID_LEN) == 0; }

void note_project(const pg_uuid_t& p) {
    if (noted == nullptr) noted = new std::vector<pg_uuid_t>();
    auto it = std::lower_bound(noted->begin(), noted->end(), p, uuid_less);
    if (it == noted->end() || !uuid_eq(*it, p)) noted->insert(it, p);
}

void put_uuid(std::string& out, const char* key, const pg_uuid_t& u) {
    out += ", \"";
    out += key;
    out += "\": ";
    out += json_uuid(u);
}

// Moves the pending events of one project into change_log with consecutive
// cursors (the feed row lock serializes sequencers), then NOTIFYs them.
int64 sequence_project(const pg_uuid_t& project, bool notify) {
    static Statement ensure(
        "INSERT INTO concurrent_edit.change_feeds (project_id, last_cursor) VALUES ($1, 0) "
        "ON CONFLICT (project_id) DO NOTHING",
        {UUIDOID});
    static Statement lock(
        "SELECT f.last_cursor FROM concurrent_edit.change_feeds f WHERE f.project_id = $1 FOR UPDATE", {UUIDOID});
    static Statement move(
        "WITH m1 AS (DELETE FROM concurrent_edit.change_pending p WHERE p.project_id = $1 RETURNING p.*), "
        "     m2 AS (DELETE FROM concurrent_edit.change_pending_locks p WHERE p.project_id = $1 RETURNING p.*), "
        "     moved AS (SELECT * FROM m1 UNION ALL SELECT * FROM m2) "
        "INSERT INTO concurrent_edit.change_log (project_id, cursor, event, file_id, path, version, content_hash, "
        "    session_id, author, details, created_at) "
        "SELECT m.project_id, $2 + row_number() OVER (ORDER BY m.id), m.event, m.file_id, m.path, m.version, "
        "       m.content_hash, m.session_id, m.author, m.details, m.created_at FROM moved m "
        "RETURNING cursor, event, file_id, path, version, content_hash, session_id, author, details::text",
        {UUIDOID, INT8OID});
    static Statement advance(
        "UPDATE concurrent_edit.change_feeds SET last_cursor = $2 WHERE project_id = $1", {UUIDOID, INT8OID});

    ensure.run({uuid_datum(project)});
    int64 last = lock.run({uuid_datum(project)}).int8(0, 0);
    Rows r = move.run({uuid_datum(project), Int64GetDatum(last)});
    uint64 n = r.size();
    if (n == 0) return 0;
    advance.run({uuid_datum(project), Int64GetDatum(last + static_cast<int64>(n))});
    if (!notify) return static_cast<int64>(n);

    struct Note {
        int64 cursor;
        std::string payload;
    };
    std::vector<Note> notes;
    notes.reserve(n);
    for (uint64 i = 0; i < n; ++i) {
        int64 cursor = r.int8(i, 0);
        std::string p = "{\"event\": ";
        append_json_string(p, r.text(i, 1));
        p += ", \"cursor\": " + std::to_string(cursor);
        put_uuid(p, "project_id", project);
        put_uuid(p, "file_id", r.uuid(i, 2));
        std::string path = r.text(i, 3);
        std::string tail = ", \"version\": ";
        tail += r.isnull(i, 4) ? "null" : std::to_string(r.int4(i, 4));
        tail += ", \"content_hash\": ";
        if (r.isnull(i, 5)) tail += "null"; else append_json_string(tail, r.text(i, 5));
        put_uuid(tail, "session_id", r.uuid(i, 6));
        put_uuid(tail, "author", r.uuid(i, 7));
        std::string details = r.text(i, 8);  // jsonb text: "{}" or "{...}"
        if (details.size() > 2) {
            tail += ", ";
            tail.append(details, 1, details.size() - 2);
        }
        tail += '}';
        std::string full = p + ", \"path\": ";
        if (path.empty()) full += "null"; else append_json_string(full, path);
        full += tail;
        // NOTIFY payloads are capped at 8000 bytes: drop the path (and details) rather than fail.
        if (full.size() >= 8000) full = p + ", \"path\": null, \"truncated\": true}";
        notes.push_back(Note{cursor, std::move(full)});
    }
    std::sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) { return a.cursor < b.cursor; });
    std::string channel = channel_name(project);
    for (const Note& note : notes) {
        const char* ch = channel.c_str();
        const char* pl = note.payload.c_str();
        pg_call([ch, pl] { Async_Notify(ch, pl); });
    }
    return static_cast<int64>(n);
}

void xact_callback(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
            if (noted != nullptr && !noted->empty()) {
                if (worker_serves_this_database()) {
                    signal_worker_at_commit = true;  // the worker sequences and notifies
                } else if (!IsolationUsesXactSnapshot()) {
                    guard([]() -> Datum {
                        std::vector<pg_uuid_t> projects = *noted;
                        with_owner_context([&] {
                            Spi spi;
                            for (const auto& p : projects) sequence_pending(true, &p);
                            spi.finish();
                        });
                        return 0;
                    });
                }
                // REPEATABLE READ / SERIALIZABLE without the worker: the events stay
                // pending (a snapshot-bound sequencer could miss newer events); the next
                // READ COMMITTED sequencer of the project or changes_since() sends them.
            }
            break;
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_PARALLEL_COMMIT:
            if (signal_worker_at_commit) wake_worker();
            signal_worker_at_commit = false;
            if (noted != nullptr) noted->clear();
            break;
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PARALLEL_ABORT:
        case XACT_EVENT_PREPARE:  // prepared events stay pending (NOTIFY cannot be prepared)
            signal_worker_at_commit = false;
            if (noted != nullptr) noted->clear();
            break;
        default:
            break;
    }
}

}  // namespace

void queue_change(ChangeEvent e) {
    static Statement ins(
        "INSERT INTO concurrent_edit.change_pending (project_id, event, file_id, path, version, content_hash, "
        "    session_id, author, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)",
        {UUIDOID, TEXTOID, UUIDOID, TEXTOID, INT4OID, TEXTOID, UUIDOID, UUIDOID, TEXTOID});
    std::string nulls(9, ' ');
    if (uuid_is_null(e.file_id)) nulls[2] = 'n';
    if (e.path.empty()) nulls[3] = 'n';
    if (e.version <= 0) nulls[4] = 'n';
    if (e.content_hash.empty()) nulls[5] = 'n';
    if (uuid_is_null(e.session_id)) nulls[6] = 'n';
    if (uuid_is_null(e.author)) nulls[7] = 'n';
    ins.run({uuid_datum(e.project_id), text_datum(e.event), uuid_datum(e.file_id), text_datum(e.path),
             Int32GetDatum(e.version), text_datum(e.content_hash), uuid_datum(e.session_id),
             uuid_datum(e.author), text_datum("{" + e.extra + "}")},
            nulls);
    note_project(e.project_id);
}

void note_pending(const pg_uuid_t& project_id) { note_project(project_id); }

int64 sequence_pending(bool notify, const pg_uuid_t* only_project) {
    // The pending tables are queues: between vacuums they are mostly dead tuples
    // and their statistics say "empty", which would make the planner read them
    // whole. Index scans only, for the sequencer's statements.
    int nest = pg_call([] {
        int n = NewGUCNestLevel();
        (void)set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        (void)set_config_option("enable_bitmapscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                                false);
        return n;
    });
    std::vector<pg_uuid_t> projects;
    if (only_project != nullptr) {
        projects.push_back(*only_project);
    } else {
        // Skip scans over the primary keys (project_id, id): the tables are queues,
        // mostly dead tuples between vacuums, so reading them whole would cost the
        // worker more with every event.
        static Statement q(
            "WITH RECURSIVE a AS ("
            "  (SELECT p.project_id FROM concurrent_edit.change_pending p ORDER BY p.project_id LIMIT 1) "
            "  UNION ALL SELECT (SELECT p.project_id FROM concurrent_edit.change_pending p "
            "                    WHERE p.project_id > a.project_id ORDER BY p.project_id LIMIT 1) "
            "  FROM a WHERE a.project_id IS NOT NULL), "
            "b AS ("
            "  (SELECT p.project_id FROM concurrent_edit.change_pending_locks p ORDER BY p.project_id LIMIT 1) "
            "  UNION ALL SELECT (SELECT p.project_id FROM concurrent_edit.change_pending_locks p "
            "                    WHERE p.project_id > b.project_id ORDER BY p.project_id LIMIT 1) "
            "  FROM b WHERE b.project_id IS NOT NULL) "
            "SELECT project_id FROM a WHERE project_id IS NOT NULL UNION "
            "SELECT project_id FROM b WHERE project_id IS NOT NULL ORDER BY 1",
            {});
        Rows r = q.run({});
        for (uint64 i = 0; i < r.size(); ++i) projects.push_back(r.uuid(i, 0));
    }
    int64 total = 0;
    for (const auto& p : projects) total += sequence_project(p, notify);
    pg_call([nest] { AtEOXact_GUC(true, nest); });  // on an error, the abort restores them
    return total;
}

std::string channel_name(const pg_uuid_t& project_id) {
    static const char hex[] = "0123456789abcdef";
    std::string s = "concurrent_edit_";
    for (unsigned char b : project_id.data) {
        s.push_back(hex[b >> 4]);
        s.push_back(hex[b & 15]);
    }
    return s;
}


std::string json_uuid(const pg_uuid_t& u) {
    return uuid_is_null(u) ? "null" : "\"" + uuid_to_string(u) + "\"";
}

Oid extension_owner() {
    Oid ext = get_extension_oid("concurrent_edit", false);
    HeapTuple tup = SearchSysCache1(EXTENSIONOID, ObjectIdGetDatum(ext));
    Oid owner = BOOTSTRAP_SUPERUSERID;
    if (HeapTupleIsValid(tup)) {
        owner = ((Form_pg_extension)GETSTRUCT(tup))->extowner;
        ReleaseSysCache(tup);
    }
    return owner;
}

void with_owner_context(const std::function<void()>& body) {
    // Runs as the extension's owner with a pinned search_path and an active
    // snapshot: used where no SECURITY DEFINER function is on the stack (commit
    // time, the background worker).
    struct Saved {
        Oid userid;
        int sec;
        int nest;
    };
    Saved saved = pg_call([] {
        Saved s;
        GetUserIdAndSecContext(&s.userid, &s.sec);
        SetUserIdAndSecContext(extension_owner(), s.sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
        s.nest = NewGUCNestLevel();
        (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                                GUC_ACTION_SAVE, true, 0, false);
        PushActiveSnapshot(GetTransactionSnapshot());
        return s;
    });
    // On an exception the transaction aborts, which restores the user id and GUCs.
    body();
    pg_call([saved] {
        PopActiveSnapshot();
        AtEOXact_GUC(true, saved.nest);
        SetUserIdAndSecContext(saved.userid, saved.sec);
    });
}

void register_change_callbacks() { RegisterXactCallback(xact_callback, nullptr); }

}  // namespace ce::pg

using namespace ce::pg;

// _emit(project_id, event, file_id, session_id, author, path, version, content_hash, details)
CE_FUNCTION(ce_emit) {
    require_arg(fcinfo, 0, "project_id");
    require_arg(fcinfo, 1, "event");
    pg_uuid_t project;
    std::memcpy(&project, PG_GETARG_UUID_P(0), sizeof(project));
    TextArg event = text_arg(fcinfo, 1, "event", 64);
    pg_uuid_t file{}, session{}, author{};
    if (!PG_ARGISNULL(2)) std::memcpy(&file, PG_GETARG_UUID_P(2), sizeof(file));
    if (!PG_ARGISNULL(3)) std::memcpy(&session, PG_GETARG_UUID_P(3), sizeof(session));
    if (!PG_ARGISNULL(4)) std::memcpy(&author, PG_GETARG_UUID_P(4), sizeof(author));
    TextArg path = text_arg(fcinfo, 5, "path", 4096, true);
    int32 version = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT32(6);
    TextArg hash = text_arg(fcinfo, 7, "content_hash", 64, true);
    char* details = PG_ARGISNULL(8) ? nullptr
                                    : DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(8)));
    if (details != nullptr && details[0] != '{')
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("details must be a JSON object")));
    return guard([&]() -> Datum {
        ChangeEvent e;
        e.event = std::string(event.view());
        e.project_id = project;
        e.file_id = file;
        e.session_id = session;
        e.author = author;
        if (!path.isnull) e.path = std::string(path.view());
        e.version = version;
        if (!hash.isnull) e.content_hash = std::string(hash.view());
        if (details != nullptr) {
            std::string d(details);
            if (d.size() > 2 && d.front() == '{') e.extra = d.substr(1, d.size() - 2);
        }
        Spi spi;
        queue_change(std::move(e));
        spi.finish();
        PG_RETURN_VOID();
    });
}
