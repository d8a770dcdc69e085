// Edit sessions and presence (src/sql/25_sessions.sql, docs/reference/sessions.md):
// open_session, touch_session, close_session, cleanup_inactive_sessions,
// open_file, close_file, file_editors, project_sessions, and the session check
// every other capability uses.
#include "pg/sessions.hpp"

#include <cstring>

#include "concurrent_edit/path.hpp"
#include "pg/advisory.hpp"
#include "pg/feed.hpp"
#include "pg/file_head.hpp"
#include "pg/guc.hpp"
#include "pg/locks.hpp"
#include "pg/results.hpp"
#include "pg/tables.hpp"

namespace ce::pg {

SessionInfo use_session(ApiCall& call, const pg_uuid_t& session_id, SessionUse use, bool touch, bool allow_closed,
                        bool lock_row) {
#define CE_SESSION_QUERY "SELECT " CE_SESSION_COLUMNS("$2") " FROM concurrent_edit.edit_sessions s WHERE s.id = $1"
    static Statement q(CE_SESSION_QUERY, {UUIDOID, INT4OID});
    static Statement q_lock(CE_SESSION_QUERY " FOR UPDATE", {UUIDOID, INT4OID});
#undef CE_SESSION_QUERY
    // The caller's right is checked before the row is locked (and again after: the
    // row may have changed): a role without one never waits for another
    // transaction's work on the session, nor learns of it by waiting.
    if (lock_row) {
        Rows unlocked = q.run(call.spi(), {uuid_datum(session_id), Int32GetDatum(guc_session_close_s)});
        (void)check_session(call, session_id, unlocked, 0, use, false, allow_closed);
    }
    if (lock_row) {
        Rows r = q_lock.run(call.spi(), {uuid_datum(session_id), Int32GetDatum(guc_session_close_s)});
        return check_session(call, session_id, r, 0, use, touch, allow_closed);
    }
    // Unlocked, the row is read from C as it is now (the latest snapshot), whatever
    // the isolation level: a session is a lease, and a REPEATABLE READ transaction
    // must not write with one closed after its snapshot was taken.
    SessionRow row = pg_call([&session_id] {
        Snapshot snapshot = push_statement_snapshot(true);
        SessionRow r = read_session_row(get_namespace_oid("concurrent_edit", false), session_id, snapshot);
        PopActiveSnapshot();
        return r;
    });
    return check_session(call, session_id, row, use, touch, allow_closed);
}

[[noreturn]] void throw_session_closed(const std::string& sid) {
    throw SqlError(CE_ERRCODE_SESSION_INVALID, "session " + sid + " is closed",
                   "{\"session_id\": \"" + sid + "\", \"status\": \"closed\"}", "Open a new session with open_session().");
}

void keep_session_open(const pg_uuid_t& session_id) {
    bool open = pg_call([&session_id] {
        LOCKTAG tag = uuid_lock_tag(session_id, LockClass::session);
        // Held already (an earlier call of this transaction looked, and no close
        // can have come since): no second look (write_many calls this per element).
        if (LockAcquire(&tag, ShareLock, false, false) == LOCKACQUIRE_ALREADY_HELD) return true;
        Snapshot snapshot = push_statement_snapshot(true);
        SessionRow row = read_session_row(get_namespace_oid("concurrent_edit", false), session_id, snapshot);
        PopActiveSnapshot();
        return row.found && std::strcmp(row.status, "closed") != 0;
    });
    if (!open) throw_session_closed(uuid_to_string(session_id));
}

SessionInfo check_session(ApiCall& call, const pg_uuid_t& session_id, const Rows& r, int col, SessionUse use,
                          bool touch, bool allow_closed) {
    SessionRow row{};
    row.found = !r.empty() && !r.isnull(0, col);
    if (row.found) {
        row.project_id = r.uuid(0, col);
        row.user_id = r.uuid(0, col + 1);
        row.role = r.oid(0, col + 2);
        strlcpy(row.status, r.text(0, col + 3).c_str(), sizeof(row.status));
        row.stale_activity = r.boolean(0, col + 4);
        row.timed_out = r.boolean(0, col + 5);
    }
    return check_session(call, session_id, row, use, touch, allow_closed);  // `r` may die in it
}

SessionRow read_session_row(Oid nsp, const pg_uuid_t& session_id, Snapshot snapshot) {
    SessionRow row{};
    Relation rel = table_open(own_table(nsp, "edit_sessions"), AccessShareLock);
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&session_id));
    if (first_by_key(rel, own_index(rel, nsp, "edit_sessions_id_idx", {"id"}), snapshot, &key, 1, slot)) {
        bool isnull;
        Datum d;
        row.found = true;
        row.project_id = uuid_at(slot, column_of(rel, "project_id"));
        row.user_id = uuid_at(slot, column_of(rel, "user_id"));
        d = slot_getattr(slot, column_of(rel, "role"), &isnull);
        row.role = isnull ? InvalidOid : DatumGetObjectId(d);
        d = slot_getattr(slot, column_of(rel, "status"), &isnull);
        if (!isnull) text_to_cstring_buffer(DatumGetTextPP(d), row.status, sizeof(row.status));
        d = slot_getattr(slot, column_of(rel, "last_active_at"), &isnull);
        TimestampTz now = GetCurrentTransactionStartTimestamp();  // now()
        TimestampTz active = DatumGetTimestampTz(d);
        // As CE_SESSION_COLUMNS: NULL comparisons are false.
        row.stale_activity = !isnull && active < now - USECS_PER_SEC;
        row.timed_out = !isnull && active < now - int64(guc_session_close_s) * USECS_PER_SEC;
    }
    ExecDropSingleTupleTableSlot(slot);
    table_close(rel, NoLock);  // held to the end of the transaction, as by a statement
    return row;
}

SessionInfo check_session(ApiCall& call, const pg_uuid_t& session_id, const SessionRow& row, SessionUse use,
                          bool touch, bool allow_closed) {
    static Statement q_touch(
        "UPDATE concurrent_edit.edit_sessions SET last_active_at = now(), status = 'active' "
        "WHERE project_id = $1 AND id = $2 AND status <> 'closed' RETURNING 1",
        {UUIDOID, UUIDOID});
    std::string sid = uuid_to_string(session_id);
    if (!row.found)
        throw SqlError(CE_ERRCODE_SESSION_INVALID, "session " + sid + " does not exist",
                       "{\"session_id\": \"" + sid + "\"}");
    SessionInfo s;
    s.id = session_id;
    s.project_id = row.project_id;
    s.user_id = row.user_id;
    s.role = row.role;
    s.status = row.status;
    bool stale_activity = row.stale_activity;
    bool timed_out = row.timed_out;
    SessionAccess a = session_access(call, s.project_id, s.role, use);
    if (!a.own && !(a.has >= Right::admin))
        throw_access_denied(call.caller(), &s.project_id, Right::admin, a.has,
                            "session " + sid + " belongs to another role");
    if (!(a.has >= a.needed)) throw_access_denied(call.caller(), &s.project_id, a.needed, a.has);
    if (!allow_closed) {
        if (s.status != "closed" && timed_out)
            throw SqlError(CE_ERRCODE_SESSION_INVALID, "session " + sid + " timed out",
                           "{\"session_id\": \"" + sid + "\", \"status\": \"" + s.status + "\"}",
                           "It was inactive for longer than concurrent_edit.session_close_timeout; open a new session.");
        if (s.status == "closed") throw_session_closed(sid);
    }
    // Activity keeps the session active; written at most once a second. A close
    // committed meanwhile (the worker, an admin, another tab) wins: the session is
    // not reopened, and the call is refused as for a closed session.
    // (Never a timed-out session, which a caller allowing closed ones may pass:
    // that would open it again.)
    if (touch && !timed_out && s.status != "closed" && (stale_activity || s.status != "active")) {
        bool touched = !q_touch.run(call.spi(), {uuid_datum(s.project_id), uuid_datum(session_id)}).empty();  // a statement: the caller's Rows are dead now
        s.status = touched ? "active" : "closed";
        if (!touched && !allow_closed) throw_session_closed(sid);
    }
    return s;
}

SessionAccess session_access(ApiCall& call, const pg_uuid_t& project, Oid owner, SessionUse use) {
    // Whose session: its role (or a role with its privileges), or an admin of the project.
    Oid caller = call.caller();
    SessionAccess a;
    a.own = pg_call([caller, owner] { return has_privs_of_role(caller, owner); });
    a.needed = use == SessionUse::act ? Right::write : use == SessionUse::read ? Right::read : Right::none;
    a.has = (a.own && a.needed == Right::none) ? Right::none : call.right(project);
    return a;
}

void require_same_project(const SessionInfo& s, const pg_uuid_t& file_id, const pg_uuid_t& project_id) {
    if (uuid_eq(s.project_id, project_id)) return;
    throw SqlError(CE_ERRCODE_SESSION_INVALID,
                   "session " + uuid_to_string(s.id) + " belongs to another project than file " +
                       uuid_to_string(file_id),
                   "{\"session_id\": " + json_uuid(s.id) + ", \"session_project_id\": " + json_uuid(s.project_id) +
                       ", \"file_id\": " + json_uuid(file_id) + ", \"project_id\": " + json_uuid(project_id) + "}");
}

pg_uuid_t resolve_author(ApiCall& call, const UuidArg& author, const UuidArg& session, const pg_uuid_t& project_id) {
    if (!session.null) {
        SessionInfo s = use_session(call, session.value, SessionUse::act, true);
        // A close in progress is waited for (then VC005), a later one waits for
        // this transaction: no version, rename or delete of the session commits
        // after its session_left (before, a write whose activity was recent did
        // not touch the session row, so the close did not wait for it).
        keep_session_open(s.id);
        if (!uuid_eq(s.project_id, project_id))
            throw SqlError(CE_ERRCODE_SESSION_INVALID, "session " + uuid_to_string(s.id) + " belongs to another project",
                           "{\"session_id\": " + json_uuid(s.id) + ", \"session_project_id\": " +
                               json_uuid(s.project_id) + ", \"project_id\": " + json_uuid(project_id) + "}");
        if (!author.null && !uuid_eq(author.value, s.user_id))
            throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE,
                           "author does not match the user of session " + uuid_to_string(session.value),
                           "{\"author\": \"" + uuid_to_string(author.value) + "\", \"session_user_id\": \"" +
                               uuid_to_string(s.user_id) + "\"}",
                           "Pass either the session (the author is its user) or the author.");
        return s.user_id;
    }
    if (author.null)
        throw SqlError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "an author or a session_id is required",
                       ce::Detail().add("argument", "author"),
                       "Every version records who wrote it.");
    return author.value;
}

void session_event(Spi& spi, const char* event, const SessionInfo& s, const pg_uuid_t& file,
                   const std::string& path) {
    queue_change(spi, file_event(event, s.project_id, file, s.id, s.user_id, path, 0, ""));
}

namespace {

// Open sessions of `role` in this database, counted up to `limit`: those not
// closed and active within session_close_timeout (an older one is refused by
// every call and closed by the cleanup). Read with a dirty snapshot, so that
// sessions opened by transactions still in progress count too: concurrent
// open_session calls of one role pass the limit only by those that count at the
// same moment, one each, and none waits for another. A session that a
// transaction in progress updates or closes may count twice or still count: the
// count errs toward the limit. Plain C, for pg_call.
int count_open_sessions(Oid role, int limit) {
    Oid nsp = get_namespace_oid("concurrent_edit", false);
    Relation rel = table_open(own_table(nsp, "edit_sessions"), AccessShareLock);
    Oid index = own_index(rel, nsp, "edit_sessions_role_idx", {"role", "last_active_at"}, true);
    AttrNumber status_att = column_of(rel, "status");
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    TimestampTz since = GetCurrentTransactionStartTimestamp() - int64(guc_session_close_s) * USECS_PER_SEC;
    ScanKeyData keys[2];
    ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(role));
    ScanKeyInit(&keys[1], 2, BTGreaterEqualStrategyNumber, F_TIMESTAMPTZ_GE, TimestampTzGetDatum(since));
    SnapshotData dirty;
    InitDirtySnapshot(dirty);
    int open = 0;
    uint64 seen = 0;
    scan_by_key(rel, index, &dirty, keys, 2, slot, [&] {
        if (++seen % 1024 == 0) CHECK_FOR_INTERRUPTS();
        bool isnull;
        Datum d = slot_getattr(slot, status_att, &isnull);
        if (isnull) return true;  // a NOT NULL column
        text* status = DatumGetTextPP(d);
        // The index's predicate (status <> 'closed'), checked on the row itself.
        if (VARSIZE_ANY_EXHDR(status) != 6 || std::memcmp(VARDATA_ANY(status), "closed", 6) != 0) ++open;
        return open < limit;
    });
    ExecDropSingleTupleTableSlot(slot);
    table_close(rel, NoLock);  // held to the end of the transaction, as by a statement
    return open;
}

constexpr char kLimitSetting[] = "concurrent_edit.max_sessions_per_role";

// The value `role`'s own settings give concurrent_edit.max_sessions_per_role
// (ALTER ROLE ... IN DATABASE ... SET, else ALTER ROLE ... SET): false when they
// give none (or one that is not an integer). Plain C, for pg_call.
bool role_session_limit(Oid role, int* limit) {
    Relation rel = table_open(DbRoleSettingRelationId, AccessShareLock);
    bool found = false;
    for (Oid db : {MyDatabaseId, InvalidOid}) {
        ScanKeyData keys[2];
        ScanKeyInit(&keys[0], Anum_pg_db_role_setting_setdatabase, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(db));
        ScanKeyInit(&keys[1], Anum_pg_db_role_setting_setrole, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(role));
        SysScanDesc scan = systable_beginscan(rel, DbRoleSettingDatidRolidIndexId, true, nullptr, 2, keys);
        if (HeapTuple t = systable_getnext(scan)) {
            bool isnull;
            Datum v = heap_getattr(t, Anum_pg_db_role_setting_setconfig, RelationGetDescr(rel), &isnull);
            Datum* elems;
            bool* nulls;
            int n = 0;
            if (!isnull) deconstruct_array(DatumGetArrayTypeP(v), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
            const std::size_t name_len = sizeof(kLimitSetting) - 1;
            for (int i = 0; i < n && !found; ++i) {
                if (nulls[i]) continue;
                char* e = TextDatumGetCString(elems[i]);  // name=value
                if (pg_strncasecmp(e, kLimitSetting, name_len) == 0 && e[name_len] == '=')
                    found = parse_int(e + name_len + 1, limit, 0, nullptr);
            }
        }
        systable_endscan(scan);
        if (found) break;
    }
    table_close(rel, AccessShareLock);
    return found;
}

// concurrent_edit.max_sessions_per_role: a role at its limit of open sessions
// opens no more (53400). Superusers are not limited, as PostgreSQL's CONNECTION
// LIMIT does not limit them. The bound keeps one role from filling the sessions
// table and the worker's inactivity cleanup, which every role's locks rely on.
// The limit of the role counted is its own setting, whoever opens as it: a
// setting applies to the sessions of the role that logs in, so a member that
// took the role with SET ROLE kept its own login's limit (10,000 where the DBA
// had given the role 3). Without one, the value in force in the session.
void check_session_limit(Oid role) {
    int limit = guc_max_sessions_per_role;
    int open = pg_call([role, &limit] {
        if (superuser_arg(role)) return -1;
        (void)role_session_limit(role, &limit);
        if (limit < 0) return -1;
        return limit == 0 ? 0 : count_open_sessions(role, limit);
    });
    if (open < 0 || open < limit) return;
    const char* name = pg_call([role] { return GetUserNameFromId(role, true); });  // for the refusal only
    std::string who = name != nullptr ? name : std::to_string(role);
    throw SqlError(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
                   "role \"" + who + "\" may have at most " + std::to_string(limit) +
                       " open sessions (concurrent_edit.max_sessions_per_role)",
                   ce::Detail()
                       .add("role", who)
                       .add("open_sessions", open)
                       .add("limit", limit)
                       .add("setting", kLimitSetting),
                   "Close sessions no longer used (close_session), or ask a superuser to raise the limit for the "
                   "role (ALTER ROLE ... SET concurrent_edit.max_sessions_per_role).");
}

}  // namespace

}  // namespace ce::pg

using namespace ce::pg;

// open_session(user_id uuid, project_id uuid, sandbox_id text DEFAULT NULL, metadata jsonb DEFAULT '{}') RETURNS uuid
CE_PRIMARY_FUNCTION(ce_open_session, "open_session") {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        throw SqlError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "user_id and project_id must not be NULL",
                       "{\"arguments\": [\"user_id\", \"project_id\"]}");
    pg_uuid_t user = uuid_arg(fcinfo, 0).value;
    pg_uuid_t project = uuid_arg(fcinfo, 1).value;
    TextArg sandbox = text_arg(fcinfo, 2, "sandbox_id", 4 * 200, true);
    if (!sandbox.isnull) {
        int chars = pg_call([&sandbox] { return pg_mbstrlen_with_len(sandbox.data, static_cast<int>(sandbox.len)); });
        if (chars < 1 || chars > 200)
            throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "sandbox_id must have 1 to 200 characters",
                           "{\"argument\": \"sandbox_id\", \"characters\": " + std::to_string(chars) + "}");
        // Shown to other users (file_editors, active_sessions): no control,
        // direction-changing or invisible character, as in a path (path.hpp).
        std::string name(sandbox.view());
        ce::check_shown_name(core_checks_server_text() ? name : server_to_utf8(name), "sandbox_id");
    }
    Datum metadata = 0;
    bool has_metadata = PG_NARGS() > 3 && !PG_ARGISNULL(3);
    if (has_metadata) {
        Datum d = PG_GETARG_DATUM(3);
        Size raw = toast_raw_datum_size(d) - VARHDRSZ;
        if (raw > 64 * 1024) throw_too_large("metadata", raw, 64 * 1024);
        bool object = pg_call([d, &metadata] {
            Jsonb* jb = DatumGetJsonbP(d);
            metadata = PointerGetDatum(jb);
            return JB_ROOT_IS_OBJECT(jb);
        });
        if (!object)
            throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "metadata must be a JSON object",
                           "{\"argument\": \"metadata\"}");
    }
    ApiCall call;
    call.require(project, Right::write);
    check_session_limit(call.caller());
    static Statement ins(
        "INSERT INTO concurrent_edit.edit_sessions (project_id, user_id, role, sandbox_id, metadata) "
        "VALUES ($1, $2, $3, $4, coalesce($5, '{}'::jsonb)) RETURNING id",
        {UUIDOID, UUIDOID, OIDOID, TEXTOID, JSONBOID});
    std::string nulls = "   ";
    nulls += sandbox.isnull ? 'n' : ' ';
    nulls += has_metadata ? ' ' : 'n';
    pg_uuid_t sid = ins.run(call.spi(), {uuid_datum(project), uuid_datum(user), ObjectIdGetDatum(call.caller()),
                                         sandbox.isnull ? Datum(0) : text_datum(sandbox.view()), metadata},
                            nulls)
                        .uuid(0, 0);
    SessionInfo s;
    s.id = sid;
    s.project_id = project;
    s.user_id = user;
    session_event(call.spi(), "session_joined", s);
    call.finish();
    return uuid_datum(sid);
}

// touch_session(session_id uuid) RETURNS text: heartbeat, returns the status.
// Activity needs write on the project, as every other activity does: a role whose
// right was revoked cannot keep its session active (listed as an editor) for ever.
CE_PRIMARY_FUNCTION(ce_touch_session, "touch_session") {
    pg_uuid_t session = uuid_required(fcinfo, 0, "session_id");
    ApiCall call;
    SessionInfo s = use_session(call, session, SessionUse::act, true);
    call.finish();
    return text_datum(s.status);
}

namespace ce::pg {

// The session row is locked by the caller. First the session's lock exclusively
// (keep_session_open): a call of the session still in progress (acquire_lock,
// save_draft, open_file, a write) is waited for, so that the release below sees
// its lock, draft or open file, and its version comes before session_left; one
// that comes later waits for this close and is refused.
void close_one(Spi& spi, const SessionInfo& s, bool discard_drafts, bool wait, int64 most) {
    pg_call([&s, wait] {
        LOCKTAG tag = uuid_lock_tag(s.id, LockClass::session);
        if (LockAcquire(&tag, ExclusiveLock, false, !wait) == LOCKACQUIRE_NOT_AVAIL)
            ereport(ERROR, (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
                            errmsg("a lock of the session is being taken; it is closed in a later round")));
    });
    static Statement files("DELETE FROM concurrent_edit.session_files f WHERE f.project_id = $1 AND f.session_id = $2",
                           {UUIDOID, UUIDOID});
    static Statement close(
        "UPDATE concurrent_edit.edit_sessions SET status = 'closed', closed_at = now() "
        "WHERE project_id = $1 AND id = $2",
        {UUIDOID, UUIDOID});
    if (most < 0) release_session_locks(spi, s.id);
    files.run(spi, {uuid_datum(s.project_id), uuid_datum(s.id)});
    if (discard_drafts) discard_session_drafts(spi, s);
    close.run(spi, {uuid_datum(s.project_id), uuid_datum(s.id)});
    if (most >= 0) release_part_of_closed(spi, s, most);  // (of a closed session only)
    session_event(spi, "session_left", s);
}

}  // namespace ce::pg

// close_session(session_id uuid, discard_drafts boolean DEFAULT false) RETURNS boolean
CE_PRIMARY_FUNCTION(ce_close_session, "close_session") {
    pg_uuid_t session = uuid_required(fcinfo, 0, "session_id");
    bool discard = bool_arg(fcinfo, 1, false);
    ApiCall call;
    SessionInfo s = use_session(call, session, SessionUse::manage, false, true, true);
    bool closed = s.status != "closed";
    if (closed) close_one(call.spi(), s, discard);
    call.finish();
    return BoolGetDatum(closed);
}

// cleanup_inactive_sessions() RETURNS integer (administrators; the worker runs it)
CE_PRIMARY_FUNCTION(ce_cleanup_inactive_sessions, "cleanup_inactive_sessions") {
    ApiCall call;
    call.require_on_all(Right::admin);
    int32 n = cleanup_inactive_sessions(call.spi());
    call.finish();
    return Int32GetDatum(n);
}


// open_file(session_id uuid, file_id uuid) RETURNS SETOF presence_warning
CE_PRIMARY_FUNCTION(ce_open_file, "open_file") {
    pg_uuid_t session = uuid_required(fcinfo, 0, "session_id");
    pg_uuid_t file = uuid_required(fcinfo, 1, "file_id");
    ApiCall call;
    SessionInfo s = use_session(call, session, SessionUse::act, true);
    FileHead f = find_file(call.spi(), file);
    require_same_project(s, file, f.project_id);
    keep_session_open(s.id);  // a close in progress: waited for, then VC005
    static Statement ins(
        "INSERT INTO concurrent_edit.session_files (project_id, session_id, file_id) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        {UUIDOID, UUIDOID, UUIDOID});
    if (ins.run(call.spi(), {uuid_datum(f.project_id), uuid_datum(s.id), uuid_datum(file)}).size() > 0)
        session_event(call.spi(), "file_opened", s, file, f.normalized_path);
    static Statement warnings(
        "SELECT w.kind, w.message, w.session_id, w.user_id, w.since, w.until FROM ("
        "  SELECT 0 AS k, 'deleted'::text AS kind, 'the file was deleted'::text AS message, NULL::uuid AS session_id, "
        "         f.deleted_by AS user_id, f.deleted_at AS since, NULL::timestamptz AS until "
        "  FROM concurrent_edit.files f WHERE f.project_id = $1 AND f.id = $2 AND f.deleted_at IS NOT NULL "
        "  UNION ALL "
        "  SELECT 1, 'locked', 'the file is locked exclusively by another session', l.session_id, l.holder, "
        "         l.acquired_at, l.expires_at "
        "  FROM concurrent_edit.file_locks l "
        "  WHERE l.project_id = $1 AND l.file_id = $2 AND l.session_id <> $3 "
        "    AND l.lock_type = 'exclusive' AND l.expires_at > clock_timestamp() "
        "  UNION ALL "
        "  SELECT 2, 'unsaved_changes', 'another session has unsaved changes to the file', p.session_id, o.user_id, "
        "         p.updated_at, NULL::timestamptz "
        "  FROM concurrent_edit.pending_changes p "
        "  JOIN concurrent_edit.edit_sessions o ON o.project_id = p.project_id AND o.id = p.session_id "
        "  WHERE p.project_id = $1 AND p.file_id = $2 AND p.session_id <> $3 AND o.status <> 'closed') w "
        "ORDER BY w.k, w.since, w.session_id",
        {UUIDOID, UUIDOID, UUIDOID});
    SetResult result(fcinfo);
    result.add_all(warnings, call.spi(), {uuid_datum(f.project_id), uuid_datum(file), uuid_datum(s.id)}, false);
    call.finish();
    return result.done();
}

// close_file(session_id uuid, file_id uuid) RETURNS boolean
CE_PRIMARY_FUNCTION(ce_close_file, "close_file") {
    pg_uuid_t session = uuid_required(fcinfo, 0, "session_id");
    pg_uuid_t file = uuid_required(fcinfo, 1, "file_id");
    ApiCall call;
    SessionInfo s = use_session(call, session, SessionUse::manage, false, true);
    static Statement del(
        "DELETE FROM concurrent_edit.session_files x USING concurrent_edit.files f "
        "WHERE x.project_id = $1 AND x.session_id = $2 AND x.file_id = $3 "
        "  AND f.project_id = x.project_id AND f.id = x.file_id RETURNING f.normalized_path",
        {UUIDOID, UUIDOID, UUIDOID});
    std::string path;
    bool closed;
    {
        Rows r = del.run(call.spi(), {uuid_datum(s.project_id), uuid_datum(s.id), uuid_datum(file)});
        closed = !r.empty();
        if (closed) path = r.text(0, 0);
    }
    if (closed) session_event(call.spi(), "file_closed", s, file, path);
    call.finish();
    return BoolGetDatum(closed);
}

// file_editors(file_id uuid) RETURNS SETOF file_editor
CE_PRIMARY_FUNCTION(ce_file_editors, "file_editors") {
    pg_uuid_t file = uuid_required(fcinfo, 0, "file_id");
    ApiCall call;
    FileHead f = find_file(call.spi(), file);
    call.require(f.project_id, Right::read);
    static Statement q(
        "SELECT s.id, s.user_id, s.sandbox_id, s.status, o.opened_at, s.last_active_at, "
        "       EXISTS (SELECT 1 FROM concurrent_edit.pending_changes p "
        "               WHERE p.project_id = o.project_id AND p.session_id = s.id AND p.file_id = o.file_id), "
        "       (SELECT l.lock_type FROM concurrent_edit.file_locks l "
        "         WHERE l.project_id = o.project_id AND l.session_id = s.id AND l.file_id = o.file_id "
        "           AND l.expires_at > clock_timestamp()) "
        "FROM concurrent_edit.session_files o "
        "JOIN concurrent_edit.edit_sessions s ON s.project_id = o.project_id AND s.id = o.session_id "
        "WHERE o.project_id = $1 AND o.file_id = $2 AND s.status <> 'closed' "
        "ORDER BY o.opened_at, s.id",
        {UUIDOID, UUIDOID});
    SetResult result(fcinfo);
    result.add_all(q, call.spi(), {uuid_datum(f.project_id), uuid_datum(file)});
    call.finish();
    return result.done();
}

// project_sessions(project_id uuid) RETURNS SETOF session_info
CE_PRIMARY_FUNCTION(ce_project_sessions, "project_sessions") {
    pg_uuid_t project = uuid_required(fcinfo, 0, "project_id");
    ApiCall call;
    call.require(project, Right::read);
    static Statement q(
        "SELECT s.id, s.user_id, s.sandbox_id, s.status, s.created_at, s.last_active_at, "
        "       (SELECT count(*)::integer FROM concurrent_edit.session_files o "
        "         WHERE o.project_id = s.project_id AND o.session_id = s.id), "
        "       (SELECT count(*)::integer FROM concurrent_edit.pending_changes p "
        "         WHERE p.project_id = s.project_id AND p.session_id = s.id), "
        "       coalesce(l.locks, 0), s.metadata "
        "FROM concurrent_edit.edit_sessions s "
        // The project's locks counted once (file_locks is keyed by project and file).
        "LEFT JOIN (SELECT l.session_id, count(*)::integer AS locks FROM concurrent_edit.file_locks l "
        "           WHERE l.project_id = $1 AND l.expires_at > clock_timestamp() GROUP BY l.session_id) l "
        "       ON l.session_id = s.id "
        "WHERE s.project_id = $1 AND s.status <> 'closed' "
        "ORDER BY s.created_at, s.id",
        {UUIDOID});
    SetResult result(fcinfo);
    result.add_all(q, call.spi(), {uuid_datum(project)});
    call.finish();
    return result.done();
}
