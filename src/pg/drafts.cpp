// Drafts (src/sql/45_drafts.sql, docs/reference/drafts.md): autosaved unsaved
// work of a session — save_draft, discard_draft, commit_draft, session_drafts.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "pg/feed.hpp"
#include "pg/file_head.hpp"
#include "pg/guc.hpp"
#include "pg/results.hpp"
#include "pg/sessions.hpp"
#include "pg/stats.hpp"
#include "pg/write.hpp"

using namespace ce::pg;

// save_draft(session_id uuid, file_id uuid, base_version integer, content text) RETURNS timestamptz
CE_PRIMARY_FUNCTION(ce_save_draft, "save_draft") {
    pg_uuid_t session = uuid_required(fcinfo, 0, "session_id");
    pg_uuid_t file = uuid_required(fcinfo, 1, "file_id");
    if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
        throw SqlError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "base_version and content must not be NULL",
                       "{\"arguments\": [\"base_version\", \"content\"]}");
    int32 base = PG_GETARG_INT32(2);
    TextArg content = text_arg(fcinfo, 3, "content", max_input_bytes());
    ApiCall call;
    SessionInfo s = use_session(call, session, SessionUse::act, true);
    FileHead f = find_file(call.spi(), file);
    require_same_project(s, file, f.project_id);
    static Statement exists(
        "SELECT 1 FROM concurrent_edit.file_versions v WHERE v.project_id = $1 AND v.file_id = $2 AND v.version = $3 "
        "FOR KEY SHARE",
        {UUIDOID, UUIDOID, INT4OID});
    // The base is locked (FOR KEY SHARE) until the draft is stored: history
    // retention skips it meanwhile, and a base retention is removing is waited
    // for and then reported missing (VC006), not a foreign-key error.
    if (exists.run(call.spi(), {uuid_datum(f.project_id), uuid_datum(file), Int32GetDatum(base)}).empty())
        throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                       "version " + std::to_string(base) + " of file " + uuid_to_string(file) + " does not exist",
                       "{\"file_id\": " + json_uuid(file) + ", \"version\": " + std::to_string(base) +
                           ", \"head_version\": " + std::to_string(f.head_version) + "}");
    // A close of the session in progress (discarding its drafts, say) is waited
    // for (then VC005); one that comes later sees this draft.
    keep_session_open(s.id);
    static Statement upsert(
        "INSERT INTO concurrent_edit.pending_changes AS p (project_id, session_id, file_id, base_version, content) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT ON CONSTRAINT pending_changes_pkey DO UPDATE "
        "SET base_version = EXCLUDED.base_version, content = EXCLUDED.content, updated_at = clock_timestamp() "
        "RETURNING p.updated_at",
        {UUIDOID, UUIDOID, UUIDOID, INT4OID, TEXTOID});
    Datum saved = upsert
                      .run(call.spi(), {uuid_datum(f.project_id), uuid_datum(s.id), uuid_datum(file),
                                        Int32GetDatum(base), text_datum(content.view())})
                      .value(0, 0);  // timestamptz: by value
    queue_change(call.spi(), file_event("draft_saved", f.project_id, file, s.id, s.user_id, f.normalized_path, base, ""));
    call.finish();
    return saved;
}

// The DELETE's rows are copied out before the events are queued (queuing runs
// statements of its own); the events go in the order of the files' paths. Each
// carries what discard_draft's does: the file, its path, the session and its user.
void ce::pg::discard_session_drafts(Spi& spi, const SessionInfo& s) {
    static Statement del(
        "DELETE FROM concurrent_edit.pending_changes p USING concurrent_edit.files f "
        "WHERE p.project_id = $1 AND p.session_id = $2 "
        "  AND f.project_id = p.project_id AND f.id = p.file_id RETURNING p.file_id, f.normalized_path",
        {UUIDOID, UUIDOID});
    std::vector<std::pair<pg_uuid_t, std::string>> gone;
    {
        Rows r = del.run(spi, {uuid_datum(s.project_id), uuid_datum(s.id)});
        gone.reserve(r.size());
        for (uint64 i = 0; i < r.size(); ++i) gone.emplace_back(r.uuid(i, 0), r.text(i, 1));
    }
    std::sort(gone.begin(), gone.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    for (auto& [file, path] : gone)
        queue_change(spi, file_event("draft_discarded", s.project_id, file, s.id, s.user_id, std::move(path), 0, ""));
}

// discard_draft(session_id uuid, file_id uuid) RETURNS boolean
CE_PRIMARY_FUNCTION(ce_discard_draft, "discard_draft") {
    pg_uuid_t session = uuid_required(fcinfo, 0, "session_id");
    pg_uuid_t file = uuid_required(fcinfo, 1, "file_id");
    ApiCall call;
    SessionInfo s = use_session(call, session, SessionUse::manage, false, true);
    static Statement del(
        "DELETE FROM concurrent_edit.pending_changes p USING concurrent_edit.files f "
        "WHERE p.project_id = $1 AND p.session_id = $2 AND p.file_id = $3 "
        "  AND f.project_id = p.project_id AND f.id = p.file_id RETURNING f.normalized_path",
        {UUIDOID, UUIDOID, UUIDOID});
    std::string path;
    bool discarded;
    {
        Rows r = del.run(call.spi(), {uuid_datum(s.project_id), uuid_datum(s.id), uuid_datum(file)});
        discarded = !r.empty();
        if (discarded) path = r.text(0, 0);
    }
    if (discarded)
        queue_change(call.spi(), file_event("draft_discarded", s.project_id, file, s.id, s.user_id, path, 0, ""));
    call.finish();
    return BoolGetDatum(discarded);
}

// commit_draft(session_id uuid, file_id uuid, strategy text DEFAULT 'merge') RETURNS write_result
CE_PRIMARY_FUNCTION(ce_commit_draft, "commit_draft") {
    stats::WriteCall counted;  // a call that raises counts as one failed write, as write()'s do
    UuidArg session;
    session.value = uuid_required(fcinfo, 0, "session_id");
    session.null = false;
    pg_uuid_t file = uuid_required(fcinfo, 1, "file_id");
    Strategy strategy = parse_strategy(text_arg(fcinfo, 2, "strategy", 64).view());
    ApiCall call;
    // A closed session's drafts are kept (close_session) and committed from here:
    // written as the session's user, without the session (which takes no writes).
    SessionInfo s = use_session(call, session.value, SessionUse::act, false, true);
    bool closed = s.status == "closed";
    if (!closed) {
        s = use_session(call, session.value, SessionUse::act, true);  // timed out: VC005
        // The session held open before the file and the draft are locked, in the
        // order of a close (its row, its lock, then its drafts): taken later (by
        // the write), a close with discard_drafts coming between deadlocked.
        keep_session_open(s.id);
    }
    // The text only within concurrent_edit.max_input_size as it is now (a draft
    // saved before the limit was lowered is refused, not fetched); its size without
    // fetching it.
    static Statement q(
        "SELECT p.base_version, CASE WHEN pg_catalog.octet_length(p.content) <= $4 THEN p.content END, "
        "       pg_catalog.octet_length(p.content)::int8 "
        "FROM concurrent_edit.pending_changes p "
        "WHERE p.project_id = $1 AND p.session_id = $2 AND p.file_id = $3 FOR UPDATE",
        {UUIDOID, UUIDOID, UUIDOID, INT8OID});
    static Statement del(
        "DELETE FROM concurrent_edit.pending_changes WHERE project_id = $1 AND session_id = $2 AND file_id = $3",
        {UUIDOID, UUIDOID, UUIDOID});
    // The file first, as writers lock it, then the draft: a transaction that wrote
    // the file and then saves this draft (an autosave beside the commit) would
    // otherwise deadlock with this call (40P01).
    (void)lock_file_checked(call, file, pg_uuid_t{}, Right::write);
    std::string content;
    int32 base;
    {
        auto limit = static_cast<int64>(max_input_bytes());
        Rows d = q.run(call.spi(), {uuid_datum(s.project_id), uuid_datum(s.id), uuid_datum(file), Int64GetDatum(limit)});
        if (d.empty())
            throw SqlError(CE_ERRCODE_DRAFT_NOT_FOUND,
                           "session " + uuid_to_string(s.id) + " has no draft of file " + uuid_to_string(file),
                           "{\"session_id\": " + json_uuid(s.id) + ", \"file_id\": " + json_uuid(file) + "}");
        if (d.isnull(0, 1))
            throw SqlError(ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                           "the draft of file " + uuid_to_string(file) + " is larger than concurrent_edit.max_input_size",
                           ce::Detail()
                               .add("session_id", uuid_to_string(s.id))
                               .add("file_id", uuid_to_string(file))
                               .add("bytes", d.int8(0, 2))
                               .add("limit", limit),
                           "The limit was lowered after the draft was saved: raise it, or save a smaller draft.");
        base = d.int4(0, 0);
        content = d.text(0, 1);
    }
    WriteRequest req;
    req.file_id = file;
    req.content = content;
    req.base_version = base;
    if (closed) {
        req.author.value = s.user_id;
        req.author.null = false;
    } else {
        req.session = session;
    }
    req.strategy = strategy;
    WriteOutcome o = write_file(call, req);
    counted.done(o.status);
    if (o.status == "written" || o.status == "merged" || o.status == "unchanged" || o.status == "overwritten")
        del.run(call.spi(), {uuid_datum(s.project_id), uuid_datum(s.id), uuid_datum(file)});
    call.finish();
    return write_result_datum(fcinfo, o);
}

// session_drafts(session_id uuid) RETURNS SETOF draft_info
CE_FUNCTION(ce_session_drafts) {
    pg_uuid_t session = uuid_required(fcinfo, 0, "session_id");
    ApiCall call;
    SessionInfo s = use_session(call, session, SessionUse::read, false, true);
    static Statement q(
        "SELECT p.file_id, f.path, p.base_version, f.head_version, octet_length(p.content), p.updated_at "
        "FROM concurrent_edit.pending_changes p "
        "JOIN concurrent_edit.files f ON f.project_id = p.project_id AND f.id = p.file_id "
        "WHERE p.project_id = $1 AND p.session_id = $2 ORDER BY p.updated_at, p.file_id",
        {UUIDOID, UUIDOID});
    SetResult result(fcinfo);
    result.add_all(q, call.spi(), {uuid_datum(s.project_id), uuid_datum(s.id)});
    call.finish();
    return result.done();
}

namespace {
// draft_visible's answers within one query (the policy is evaluated per row, and a
// scan meets the same few sessions again and again): the last few, for one role.
struct DraftVisibility {
    static constexpr int kSlots = 16;
    Oid role = InvalidOid;
    // The statement they hold for (PL/pgSQL keeps a simple expression's state, so
    // this, for the whole transaction): its snapshot and command.
    TransactionId xmin = InvalidTransactionId, xmax = InvalidTransactionId;
    CommandId cid = InvalidCommandId;
    int used = 0, next = 0;
    struct Slot {
        pg_uuid_t project, session;
        bool visible;
    } slots[kSlots];
};
}  // namespace

// draft_visible(project_id uuid, session_id uuid) RETURNS boolean: the read policy
// of pending_changes. A draft is its session's: visible as session_drafts() is
// to the session's role (with read on the project) and to the project's admins,
// not to every reader. The session row is read with the query's snapshot; the
// answer is kept while the role, the snapshot and the command stay the same (the
// rest of a query; SET ROLE within a cursor, a revoke in the same transaction and
// a later statement of a PL/pgSQL function start again).
CE_FUNCTION(ce_draft_visible) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_BOOL(false);
    pg_uuid_t project = uuid_arg(fcinfo, 0).value;
    pg_uuid_t session = uuid_arg(fcinfo, 1).value;
    Oid role = GetUserId();
    if (is_extension_admin(role)) PG_RETURN_BOOL(true);
    auto* seen = static_cast<DraftVisibility*>(fcinfo->flinfo->fn_extra);
    if (seen == nullptr) {
        seen = static_cast<DraftVisibility*>(
            pg_call([fcinfo] { return MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(DraftVisibility)); }));
        fcinfo->flinfo->fn_extra = seen;
    }
    // (Every query has an active snapshot; a call without one reads with the
    // transaction's.)
    Snapshot snap = pg_call([] { return ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot(); });
    if (seen->role != role || seen->xmin != snap->xmin || seen->xmax != snap->xmax || seen->cid != snap->curcid) {
        *seen = DraftVisibility{};
        seen->role = role;
        seen->xmin = snap->xmin;
        seen->xmax = snap->xmax;
        seen->cid = snap->curcid;
    }
    for (int i = 0; i < seen->used; ++i)
        if (uuid_eq(seen->slots[i].session, session) && uuid_eq(seen->slots[i].project, project))
            PG_RETURN_BOOL(seen->slots[i].visible);
    SessionRow row = pg_call([&session, snap] {
        return read_session_row(get_namespace_oid("concurrent_edit", false), session, snap);
    });
    bool visible = false;
    if (row.found && uuid_eq(row.project_id, project)) {
        ApiCall call;
        visible = session_access(call, project, row.role, SessionUse::read).allowed();
        call.finish();
    }
    seen->slots[seen->next] = {project, session, visible};
    seen->next = (seen->next + 1) % DraftVisibility::kSlots;
    seen->used = std::min(seen->used + 1, DraftVisibility::kSlots);
    PG_RETURN_BOOL(visible);
}
