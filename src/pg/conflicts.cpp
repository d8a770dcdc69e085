// Conflicts (src/sql/40_conflicts.sql, docs/reference/conflicts.md): recording,
// list_conflicts, resolve_conflict.
#include "pg/conflicts.hpp"

#include <optional>

#include "concurrent_edit/json.hpp"
#include "concurrent_edit/merge.hpp"
#include "pg/api.hpp"
#include "pg/compat_1_0.hpp"
#include "pg/hash.hpp"
#include "pg/feed.hpp"
#include "pg/guc.hpp"
#include "pg/json_jsonb.hpp"
#include "pg/results.hpp"
#include "pg/stats.hpp"
#include "pg/values.hpp"
#include "pg/versions.hpp"

namespace ce::pg {

pg_uuid_t record_conflict(Spi& spi, Oid role, const FileHead& h, const char* kind, int32 base_version,
                          std::string_view theirs, const char* strategy, const std::string& details,
                          const pg_uuid_t& author, const pg_uuid_t& session_id, std::optional<int32> theirs_version) {
    static Statement q(
        "INSERT INTO concurrent_edit.conflict_history (project_id, file_id, kind, base_version, ours_version, "
        "    theirs_content, strategy, details, session_id, created_by, created_role, theirs_version) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12) RETURNING id",
        {UUIDOID, UUIDOID, TEXTOID, INT4OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, UUIDOID, UUIDOID, OIDOID, INT4OID});
    // The base of a delete or rename conflict only says what the writer saw (its
    // details keep the value given): one that history retention removed is
    // recorded as the head version, which the conflict keeps (conflict_history
    // refers to both; before, 23503 from the foreign key).
    if ((std::string_view(kind) == "delete" || std::string_view(kind) == "rename") && base_version != h.head_version) {
        static Statement stored(
            "SELECT EXISTS (SELECT FROM concurrent_edit.file_versions v "
            "               WHERE v.project_id = $1 AND v.file_id = $2 AND v.version = $3)",
            {UUIDOID, UUIDOID, INT4OID});
        if (!stored.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), Int32GetDatum(base_version)}).boolean(0, 0))
            base_version = h.head_version;
    }
    std::string nulls(12, ' ');
    if (uuid_is_null(session_id)) nulls[8] = 'n';
    if (!theirs_version) nulls[11] = 'n';
    pg_uuid_t id = q.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), text_datum(kind), Int32GetDatum(base_version),
                               Int32GetDatum(h.head_version), text_datum(theirs), text_datum(strategy),
                               text_datum(details), uuid_datum(session_id), uuid_datum(author), ObjectIdGetDatum(role),
                               Int32GetDatum(theirs_version.value_or(0))},
                         nulls)
                       .uuid(0, 0);
    stats::add(stats::conflicts_recorded);
    queue_change(spi, file_event("conflict", h.project_id, h.id, session_id, author, h.normalized_path, h.head_version,
                                 h.head_hash,
                                 "\"conflict_id\": \"" + uuid_to_string(id) + "\", \"kind\": \"" + kind + "\""));
    return id;
}

Datum hunks_jsonb(const std::vector<ce::ConflictRegion>& regions) {
    using ce::json::Value;
    std::vector<Value> hunks;
    hunks.reserve(regions.size());
    for (std::size_t i = 0; i < regions.size(); ++i) {
        const auto& r = regions[i];
        hunks.push_back(Value::object({{"hunk", Value::number(static_cast<long long>(i + 1))},
                                       {"base_start", Value::number(static_cast<long long>(r.base_start))},
                                       {"base_text", Value::string(r.base)},
                                       {"ours_start", Value::number(static_cast<long long>(r.ours_start))},
                                       {"ours_text", Value::string(r.ours)},
                                       {"theirs_start", Value::number(static_cast<long long>(r.theirs_start))},
                                       {"theirs_text", Value::string(r.theirs)}}));
    }
    return jsonb_datum(Value::array(std::move(hunks)));
}

// A row conflict carries the row's data (theirs, the changed columns): `role` may
// see or close it only if it holds `mode` on the table and the table's row-level
// security, if any, does not apply to it (the owner, BYPASSRLS): a role whose
// reads a policy filters could otherwise see rows the policy hides. The table is
// found by its stored name (schema-qualified, as stored_name() writes it); a
// schema the role may not use makes it not the role's, without an error
// (to_regclass() raised 42501 there, and one such conflict made conflict_history
// unreadable for everyone but superusers), and so does a table dropped meanwhile.
// Only tables (plain or partitioned): a 1.0 conflict may name a view.
bool may_use_row_conflict(const std::string& relation, Oid role, AclMode mode) {
    if (!OidIsValid(role)) return false;
    return pg_call([&relation, role, mode] {
        char* copy = pstrdup(relation.c_str());
        List* names = NIL;
        if (!SplitIdentifierString(copy, '.', &names) || list_length(names) != 2) return false;
        Oid nsp = get_namespace_oid(static_cast<const char*>(linitial(names)), true);
        if (!OidIsValid(nsp) || pg_namespace_aclcheck(nsp, role, ACL_USAGE) != ACLCHECK_OK) return false;
        Oid relid = get_relname_relid(static_cast<const char*>(lsecond(names)), nsp);
        char kind = OidIsValid(relid) ? get_rel_relkind(relid) : '\0';
        if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE) return false;
        bool missing = false;
        if (pg_class_aclcheck_ext(relid, role, mode, &missing) != ACLCHECK_OK || missing) return false;
        return check_enable_rls(relid, role, true) != RLS_ENABLED;
    });
}

namespace {

// One conflict_history row, as the workflow functions need it.
struct ConflictRow {
    pg_uuid_t id{}, project{}, file{}, created_by{};
    std::string cid, kind, relation, details;  // details: of a rename conflict only (load_conflict)
    int32 base_version = 0, ours_version = 0;
    std::optional<int32> theirs_version;
    Oid created_role = InvalidOid;
    bool closed = false;
};

ConflictRow load_conflict(Spi& spi, const pg_uuid_t& conflict_id, bool for_update) {
#define CE_CONFLICT_QUERY                                                                                   \
    "SELECT c.project_id, c.file_id, c.kind, c.base_version, c.ours_version, c.resolved_at IS NOT NULL, " \
    "       c.created_role::oid, c.row_relation, c.theirs_version, c.created_by, "                          \
    "       CASE WHEN c.kind = 'rename' THEN c.details::text END "                                           \
    "FROM concurrent_edit.conflict_history c WHERE c.id = $1"
    static Statement q(CE_CONFLICT_QUERY, {UUIDOID});
    static Statement q_lock(CE_CONFLICT_QUERY " FOR UPDATE", {UUIDOID});
#undef CE_CONFLICT_QUERY
    ConflictRow c;
    c.id = conflict_id;
    c.cid = uuid_to_string(conflict_id);
    Rows r = (for_update ? q_lock : q).run(spi, {uuid_datum(conflict_id)}, {}, !for_update);
    if (r.empty())
        throw SqlError(CE_ERRCODE_CONFLICT_NOT_OPEN, "conflict " + c.cid + " does not exist",
                       ce::Detail().add("conflict_id", c.cid));
    c.project = r.uuid(0, 0);
    if (!r.isnull(0, 1)) c.file = r.uuid(0, 1);
    c.kind = r.text(0, 2);
    c.base_version = r.int4(0, 3);
    c.ours_version = r.int4(0, 4);
    c.closed = r.boolean(0, 5);
    if (!r.isnull(0, 6)) c.created_role = r.oid(0, 6);
    if (!r.isnull(0, 7)) c.relation = r.text(0, 7);
    if (!r.isnull(0, 8)) c.theirs_version = r.int4(0, 8);
    if (!r.isnull(0, 9)) c.created_by = r.uuid(0, 9);
    // Only a rename conflict's details are read (its proposed path): a content
    // conflict's list its regions, which a text of many small conflicts makes
    // ten times its size (37 MB for a 3 MB text of 300,000), converted to text
    // in one uninterruptible call and copied twice.
    c.details = r.text(0, 10);
    return c;
}

// Closing a conflict (resolve, discard): its own writer with write, anyone else
// with admin; a row conflict also by whoever may update its table. VC008 when it is
// already closed.
void require_may_close(ApiCall& call, const ConflictRow& c) {
    Oid caller = call.caller();
    Oid created_role = c.created_role;
    bool own = OidIsValid(created_role) && pg_call([caller, created_role] { return has_privs_of_role(caller, created_role); });
    Right has = call.right(c.project);
    bool may = has >= (own ? Right::write : Right::admin);
    if (!may && c.kind == "row") may = may_use_row_conflict(c.relation, caller, ACL_UPDATE);
    if (!may)
        throw_access_denied(caller, &c.project, own ? Right::write : Right::admin, has,
                            own ? std::string() : "conflict " + c.cid + " was recorded by another role");
    if (c.closed)
        throw SqlError(CE_ERRCODE_CONFLICT_NOT_OPEN, "conflict " + c.cid + " is already closed",
                       ce::Detail().add("conflict_id", c.cid));
}


// The conflict row to close, locked, after the caller's right to close it was
// checked on an unlocked read: a role without one never waits for another
// transaction's work on the conflict, nor learns of it by waiting (as for files:
// rights before the lock). Checked again on the locked row (it may have been
// closed meanwhile).
// With `lock_file_first` (a resolution, which writes or moves the file), the
// conflict's file is locked before the conflict row, in the order writers take
// them: a writer of the file that then resolved or discarded the conflict, or two
// resolvers of the file's conflicts, deadlocked (40P01) with this call.
ConflictRow lock_conflict_to_close(ApiCall& call, const pg_uuid_t& conflict_id, bool lock_file_first) {
    ConflictRow unlocked = load_conflict(call.spi(), conflict_id, false);
    require_may_close(call, unlocked);
    if (lock_file_first && unlocked.kind != "row" && !uuid_is_null(unlocked.file))
        (void)lock_file(call.spi(), unlocked.file, pg_uuid_t{});
    ConflictRow c = load_conflict(call.spi(), conflict_id, true);
    require_may_close(call, c);
    return c;
}

struct ConflictTexts {
    std::string base, ours, theirs;
};

// The three texts of a content or delete conflict: base and ours are versions,
// theirs the proposed text (or a stored version).
ConflictTexts load_texts(Spi& spi, const ConflictRow& c) {
    if (c.kind != "content" && c.kind != "delete")
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "conflict " + c.cid + " of kind " + c.kind + " has no texts",
                       ce::Detail().add("conflict_id", c.cid).add("kind", c.kind),
                       c.kind == "row" ? "A row conflict is resolved by updating the row."
                                       : "A rename conflict is resolved with choose => 'ours' or 'theirs'.");
    static Statement q(
        "SELECT c.base_version, c.ours_version, c.theirs_version, c.theirs_content "
        "FROM concurrent_edit.conflict_history c WHERE c.project_id = $1 AND c.id = $2",
        {UUIDOID, UUIDOID});
    int32 base_v, ours_v, theirs_v;
    std::optional<std::string> theirs;
    {
        Rows r = q.run(spi, {uuid_datum(c.project), uuid_datum(c.id)}, {}, true);
        if (r.empty()) throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND, "the versions of conflict " + c.cid + " are missing",
                                      ce::Detail().add("conflict_id", c.cid));
        base_v = r.int4(0, 0);
        ours_v = r.int4(0, 1);
        theirs_v = r.isnull(0, 2) ? 0 : r.int4(0, 2);
        theirs = r.text_opt(0, 3);
    }
    auto text_of = [&](int32 v) {
        auto t = v > 0 ? fetch_version(c.project, c.file, v) : std::nullopt;
        if (!t) throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND, "the versions of conflict " + c.cid + " are missing",
                               ce::Detail().add("conflict_id", c.cid).add("version", static_cast<long long>(v)));
        return std::move(t->content);
    };
    ConflictTexts t{text_of(base_v), text_of(ours_v), std::string()};
    t.theirs = theirs ? std::move(*theirs) : text_of(theirs_v);
    return t;
}

// The texts of a conflict for conflict_hunks() and conflict_texts(): read on its
// project; *c receives its row.
ConflictTexts readable_texts(const pg_uuid_t& conflict_id, ConflictRow& c) {
    ApiCall call;
    c = load_conflict(call.spi(), conflict_id, false);
    call.require(c.project, Right::read);
    ConflictTexts t = load_texts(call.spi(), c);
    call.finish();
    return t;
}

std::vector<ce::ConflictRegion> regions_of(const ConflictTexts& t) {
    ce::memory::Budget budget = merge_budget();
    return ce::merge_conflict_regions(t.base, t.ours, t.theirs, diff_algorithm());
}

}  // namespace
}  // namespace ce::pg

using namespace ce::pg;

// row_conflict_visible(row_relation text, role oid DEFAULT NULL) RETURNS boolean:
// may_use_row_conflict(ACL_SELECT) for SQL (the read policy of conflict_history,
// list_conflicts); role NULL for the current user.
CE_FUNCTION(ce_row_conflict_visible) {
    if (PG_ARGISNULL(0)) {
        fcinfo->isnull = true;
        return Datum(0);
    }
    std::string relation = text_arg(fcinfo, 0, "row_relation", 64 * 1024).str();
    Oid role = PG_NARGS() > 1 && !PG_ARGISNULL(1) ? PG_GETARG_OID(1) : pg_call([] { return GetUserId(); });
    return BoolGetDatum(may_use_row_conflict(relation, role, ACL_SELECT));
}

// list_conflicts(file_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, include_resolved boolean DEFAULT false)
//   RETURNS SETOF conflict_info
// Row conflicts carry row data: they are listed only to roles that may SELECT
// their table and that its row-level security does not filter
// (may_use_row_conflict). The conflicts of no project (row conflicts of tables without a
// project column) are listed to such roles even without a right on the nil project.
CE_FUNCTION(ce_list_conflicts) {
    UuidArg file = uuid_arg(fcinfo, 0);
    UuidArg project = uuid_arg(fcinfo, 1);
    bool include_resolved = bool_arg(fcinfo, 2, false);
    if (file.null && project.null)
        throw SqlError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "list_conflicts needs a file_id or a project_id",
                       ce::Detail().add("argument", "file_id"));
    ApiCall call;
    pg_uuid_t scope = project.value;
    bool rows_only = false;
    if (!file.null) {
        static Statement of_file("SELECT f.project_id FROM concurrent_edit.files f WHERE f.id = $1", {UUIDOID});
        Rows r = of_file.run(call.spi(), {uuid_datum(file.value)}, {}, true);
        if (r.empty()) {  // no such file: no conflicts
            call.finish();
            SetResult none(fcinfo);
            return none.done();
        }
        scope = r.uuid(0, 0);
        if (!project.null && !uuid_eq(scope, project.value)) {
            call.finish();
            SetResult none(fcinfo);
            return none.done();
        }
    }
    if (uuid_is_null(scope) && !(call.right(scope) >= Right::read)) rows_only = true;
    else call.require(scope, Right::read);
    static Statement q(
        "SELECT c.id, c.file_id, f.path, c.kind, c.base_version, c.ours_version, c.strategy, "
        "       concurrent_edit.conflict_regions(c.details), "
        "       c.created_by, c.created_at, c.resolved_by, c.resolved_at, c.resolution_version, c.details, "
        "       c.row_relation, c.row_key, c.theirs_version, bv.content_hash, ov.content_hash, "
        "       coalesce(concurrent_edit.content_hash(c.theirs_content), tv.content_hash), c.discarded, c.discard_reason "
        "FROM concurrent_edit.conflict_history c "
        "LEFT JOIN concurrent_edit.files f ON f.project_id = c.project_id AND f.id = c.file_id "
        "LEFT JOIN concurrent_edit.file_versions bv ON bv.project_id = c.project_id AND bv.file_id = c.file_id "
        "  AND bv.version = c.base_version "
        "LEFT JOIN concurrent_edit.file_versions ov ON ov.project_id = c.project_id AND ov.file_id = c.file_id "
        "  AND ov.version = c.ours_version "
        "LEFT JOIN concurrent_edit.file_versions tv ON tv.project_id = c.project_id AND tv.file_id = c.file_id "
        "  AND tv.version = c.theirs_version "
        "WHERE c.project_id = $1 AND ($2::uuid IS NULL OR c.file_id = $2) "
        "  AND ($3 OR c.resolved_at IS NULL) AND (NOT $5 OR c.kind = 'row') "
        "  AND (c.kind <> 'row' OR concurrent_edit.row_conflict_visible(c.row_relation, $4)) "
        "ORDER BY c.created_at, c.id",
        {UUIDOID, UUIDOID, BOOLOID, OIDOID, BOOLOID});
    SetResult result(fcinfo);
    result.add_rows(q.run(call.spi(),
                          {uuid_datum(scope), uuid_datum(file.value), BoolGetDatum(include_resolved),
                           ObjectIdGetDatum(call.caller()), BoolGetDatum(rows_only)},
                          file.null ? " n   " : "     ", true));
    call.finish();
    return result.done();
}

namespace {

// The choices of resolve_conflict(hunks => ...): one per hunk, each once.
std::vector<ce::HunkChoice> parse_hunks(const ce::json::Value& v, std::size_t n, const std::string& cid) {
    auto bad = [&](const std::string& why, long hunk) {
        ce::Detail d;
        d.add("conflict_id", cid).add("argument", "hunks").add("hunks", n);
        if (hunk > 0) d.add("hunk", hunk);
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "hunks: " + why, d,
                       "Give one element per hunk of conflict_hunks(): {\"hunk\": n, \"choose\": "
                       "\"ours\"|\"theirs\"|\"base\"|\"union\"} or {\"hunk\": n, \"text\": \"...\"}.");
    };
    if (!v.is_array()) bad("must be a JSON array", 0);
    std::vector<ce::HunkChoice> out(n);
    std::vector<char> seen(n, 0);
    for (const ce::json::Value& e : v.items()) {
        const ce::json::Value* h = e.is_object() ? e.find("hunk") : nullptr;
        if (h == nullptr || !h->is_number()) bad("each element needs a \"hunk\" number", 0);
        std::optional<std::uint64_t> number = non_negative_integer(h->text());
        if (!number || *number < 1 || *number > n) bad("hunk " + ce::excerpt(h->text()) + " does not exist", 0);
        const long k = static_cast<long>(*number);
        if (seen[k - 1]) bad("hunk " + std::to_string(k) + " is given twice", k);
        seen[k - 1] = 1;
        const ce::json::Value* choose = e.find("choose");
        const ce::json::Value* text = e.find("text");
        if ((choose != nullptr) == (text != nullptr)) bad("hunk " + std::to_string(k) + " needs one of choose and text", k);
        if (choose != nullptr) {
            if (!choose->is_string()) bad("choose of hunk " + std::to_string(k) + " must be a string", k);
            try {
                out[k - 1].kind = ce::parse_hunk_choice(choose->text());
            } catch (const ce::Error&) {  // said again with the conflict and the hunk
                bad("choose of hunk " + std::to_string(k) + " is not ours, theirs, base or union", k);
            }
        } else {
            if (!text->is_string()) bad("text of hunk " + std::to_string(k) + " must be a string", k);
            out[k - 1].kind = ce::HunkChoice::Kind::text;
            out[k - 1].text = text->text();
        }
    }
    for (std::size_t k = 0; k < n; ++k)
        if (!seen[k]) bad("hunk " + std::to_string(k + 1) + " has no choice", static_cast<long>(k + 1));
    return out;
}

// The resolution a choice gives: the merge of the conflict's texts with every
// hunk settled.
std::string settle(const ConflictTexts& t, const std::vector<ce::HunkChoice>& choices) {
    ce::MergeOptions opts;
    opts.algorithm = diff_algorithm();
    opts.hunks = &choices;
    ce::memory::Budget budget = merge_budget();
    ce::MergeResult m = ce::merge3(t.base, t.ours, t.theirs, opts);
    if (!m.clean) throw ce::Error(ce::Errc::internal, "a settled merge kept conflicts");
    return std::move(m.content);
}

// A resolution that writes is refused while a session holds an exclusive lock on
// the file, as write() without a session is.
constexpr const char* kLockedHint =
    "Resolve the conflict once the lock is released or expired (the holder can release it first).";

// Writes `resolution` of conflict `c` on the head (merged onto it when the head
// moved since the conflict); returns the head version afterwards.
int32 write_resolution(ApiCall& call, const ConflictRow& c, std::string_view resolution, const pg_uuid_t& resolved_by) {
    FileHead h = lock_file(call.spi(), c.file, pg_uuid_t{});
    if (h.locked_by_other) throw_file_locked(h, kLockedHint);
    std::string hash = content_hash(resolution);
    int32 version = h.head_version;
    if (h.deleted) {
        // Only a write to a deleted file (a delete conflict) restores it: a
        // conflict met before someone deleted the file does not undo the delete.
        if (c.kind != "delete")
            throw SqlError(CE_ERRCODE_FILE_DELETED,
                           "file " + uuid_to_string(h.id) + " was deleted after conflict " + c.cid,
                           ce::Detail().add("conflict_id", c.cid).add("kind", c.kind).add("file_id", uuid_to_string(h.id)),
                           "Discard the conflict. To bring the file back, write to it (a delete conflict) and "
                           "resolve that conflict.");
        // Restored by another resolution and deleted again since this conflict: that
        // delete came after the conflict, which does not undo it (nor overwrite the
        // versions written in between).
        if (h.head_version != c.ours_version)
            throw SqlError(CE_ERRCODE_FILE_DELETED,
                           "file " + uuid_to_string(h.id) + " was restored and deleted again after conflict " + c.cid,
                           ce::Detail().add("conflict_id", c.cid).add("kind", c.kind).add("file_id", uuid_to_string(h.id))
                               .add("ours_version", c.ours_version).add("head_version", h.head_version),
                           "Discard the conflict. To bring the file back, write to it (a new delete conflict) and "
                           "resolve that conflict.");
        // The file comes back with the resolution (its key as the project's options
        // give it now), announced as created again before its new version.
        std::string key = claim_path(call.spi(), h.project_id, h.path, h.id);
        static Statement undelete(
            "UPDATE concurrent_edit.files SET deleted_at = NULL, deleted_by = NULL, normalized_path = $3 "
            "WHERE project_id = $1 AND id = $2",
            {UUIDOID, UUIDOID, TEXTOID});
        undelete.run(call.spi(), {uuid_datum(h.project_id), uuid_datum(h.id), text_datum(key)});
        h.normalized_path = key;
        queue_change(call.spi(), file_event("created", h.project_id, h.id, pg_uuid_t{}, resolved_by, key, h.head_version,
                                            h.head_hash, "\"restored\": true, \"conflict_id\": \"" + c.cid + "\""));
        return append_version(call.spi(), h, resolution, hash, resolved_by, pg_uuid_t{});
    }
    if (h.head_version == c.ours_version) {
        if (hash != h.head_hash) version = append_version(call.spi(), h, resolution, hash, resolved_by, pg_uuid_t{});
        return version;
    }
    // The head moved since the conflict: merge the resolution onto it.
    auto base = fetch_version(h.project_id, h.id, c.ours_version);
    auto head = fetch_version(h.project_id, h.id, h.head_version);
    if (!base || !head)
        throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND, "versions needed to merge the resolution are missing",
                       head_detail(h, c.ours_version, std::nullopt));
    ce::MergeOptions opts;
    opts.ours_label = "version " + std::to_string(h.head_version);
    opts.base_label = "version " + std::to_string(c.ours_version);
    opts.theirs_label = "resolution";
    opts.algorithm = diff_algorithm();
    ce::MergeResult m = [&] {
        ce::memory::Budget budget = merge_budget();
        return ce::merge3(base->content, head->content, resolution, opts);
    }();
    if (!m.clean)
        throw SqlError(CE_ERRCODE_STALE_VERSION,
                       "file " + uuid_to_string(h.id) + " changed since the conflict and the resolution "
                       "conflicts with that change",
                       head_detail(h, c.ours_version, std::nullopt),
                       "Read the head version, resolve again on top of it, and retry.");
    std::string mh = content_hash(m.content);
    if (mh != h.head_hash)
        version = append_version(call.spi(), h, m.content, mh, resolved_by, pg_uuid_t{}, nullptr, nullptr, &head->content);
    return version;
}

void close_conflict(ApiCall& call, const ConflictRow& c, const pg_uuid_t& by, std::optional<int32> version,
                    const TextArg* discard_reason) {
    static Statement done(
        "UPDATE concurrent_edit.conflict_history SET resolved_by = $3, resolved_at = now(), resolution_version = $4, "
        "    discarded = $5, discard_reason = $6 "
        "WHERE project_id = $1 AND id = $2 RETURNING (SELECT f.normalized_path FROM concurrent_edit.files f "
        "    WHERE f.project_id = $1 AND f.id = conflict_history.file_id)",
        {UUIDOID, UUIDOID, UUIDOID, INT4OID, BOOLOID, TEXTOID});
    std::string nulls = "      ";
    if (!version) nulls[3] = 'n';
    if (discard_reason == nullptr || discard_reason->isnull) nulls[5] = 'n';
    std::string path;
    {
        Rows r = done.run(call.spi(),
                          {uuid_datum(c.project), uuid_datum(c.id), uuid_datum(by), Int32GetDatum(version.value_or(0)),
                           BoolGetDatum(discard_reason != nullptr),
                           discard_reason != nullptr && !discard_reason->isnull ? text_datum(discard_reason->view())
                                                                                 : Datum(0)},
                          nulls);
        if (!r.isnull(0, 0)) path = r.text(0, 0);
    }
    std::string extra = "\"conflict_id\": \"" + c.cid + "\", \"kind\": \"" + c.kind + "\"";
    if (discard_reason != nullptr && !discard_reason->isnull) {
        extra += ", \"reason\": ";
        append_json_string(extra, discard_reason->view());
    }
    queue_change(call.spi(), file_event(discard_reason != nullptr ? "conflict_discarded" : "conflict_resolved",
                                        c.project, c.file, pg_uuid_t{}, by, path, version.value_or(0), "",
                                        std::move(extra)));
}

}  // namespace

// resolve_conflict(conflict_id, content, resolved_by, choose, hunks) RETURNS integer
CE_PRIMARY_FUNCTION(ce_resolve_conflict, "resolve_conflict") {
    refuse_1_0_declaration(fcinfo, "resolve_conflict", 5);  // 1.0: 3 arguments
    pg_uuid_t conflict_id = uuid_required(fcinfo, 0, "conflict_id");
    TextArg content = text_arg(fcinfo, 1, "content", max_input_bytes(), true);
    UuidArg resolved_by_arg = uuid_arg(fcinfo, 2);
    TextArg choose = text_arg(fcinfo, 3, "choose", 16, true);
    Jsonb* hunks = jsonb_arg(fcinfo, 4, "hunks", max_input_bytes(), true);
    int given = (content.isnull ? 0 : 1) + (choose.isnull ? 0 : 1) + (hunks == nullptr ? 0 : 1);
    ApiCall call;
    ConflictRow c = lock_conflict_to_close(call, conflict_id, true);
    pg_uuid_t resolved_by = resolved_by_arg.null ? c.created_by : resolved_by_arg.value;
    auto exactly_one = [&](const char* what) {
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, std::string("conflict ") + c.cid + " " + what,
                       ce::Detail().add("conflict_id", c.cid).add("kind", c.kind),
                       "Pass exactly one of content, choose and hunks (a row conflict takes none).");
    };
    std::optional<int32> version;
    if (c.kind == "row") {
        // A row is resolved by an UPDATE under the trigger; this only closes the record.
        if (given != 0) exactly_one("is a row conflict: it takes no content, choose or hunks");
    } else if (c.kind == "rename") {
        if (choose.isnull || given != 1 || (choose.view() != "ours" && choose.view() != "theirs"))
            exactly_one("is a rename conflict: it takes choose => 'ours' or 'theirs'");
        FileHead h = lock_file(call.spi(), c.file, pg_uuid_t{});
        if (h.locked_by_other && choose.view() == "theirs") throw_file_locked(h, kLockedHint);
        if (h.deleted && choose.view() == "theirs")
            throw SqlError(CE_ERRCODE_FILE_DELETED, "file " + uuid_to_string(h.id) + " was deleted",
                           head_detail(h, std::nullopt, std::nullopt), "A deleted file cannot be renamed.");
        if (choose.view() == "theirs") {
            // The details as jsonb prints them, in the database's encoding.
            auto v = ce::json::parse(server_to_utf8(c.details));
            const ce::json::Value* proposed = v.find("proposed_path");
            const ce::json::Value* seen = v.find("current_path");
            if (proposed == nullptr || !proposed->is_string() || seen == nullptr || !seen->is_string())
                throw SqlError(CE_ERRCODE_INTERNAL, "rename conflict " + c.cid + " has no paths",
                               ce::Detail().add("conflict_id", c.cid));
            std::string was = utf8_to_server(std::string(seen->text()));
            std::string to = utf8_to_server(std::string(proposed->text()));
            if (was != h.path) throw_renamed_since(h, c.cid, was, to);  // renamed since: not undone silently
            move_file(call.spi(), h, to, resolved_by, pg_uuid_t{});
        }
        version = h.head_version;
    } else if (c.kind == "delete" && given == 1 && !choose.isnull && choose.view() == "ours") {
        // Ours is the delete (a delete conflict has no hunks: every other choice
        // restores the file with the proposed edit): the file stays as it is,
        // nothing is written.
        version = lock_file(call.spi(), c.file, pg_uuid_t{}).head_version;
    } else {
        if (given != 1) exactly_one(given == 0 ? "needs a resolution" : "takes only one resolution");
        std::string resolution;
        if (!content.isnull) {
            resolution = content.str();
        } else {
            ConflictTexts t = load_texts(call.spi(), c);
            std::size_t n = regions_of(t).size();
            std::vector<ce::HunkChoice> choices;
            if (!choose.isnull) {
                choices.assign(n, ce::HunkChoice{ce::parse_hunk_choice(choose.view()), {}});
            } else {
                ce::memory::Budget budget = merge_budget();  // numbers grow as text (1e131071)
                ce::json::Value hv = jsonb_to_value(hunks, "hunks");
                choices = parse_hunks(hv, n, c.cid);
            }
            resolution = settle(t, choices);
        }
        version = write_resolution(call, c, resolution, resolved_by);
    }
    close_conflict(call, c, resolved_by, c.kind == "row" ? std::nullopt : version, nullptr);
    call.finish();
    if (c.kind == "row") {
        fcinfo->isnull = true;  // no file version was written
        return Datum(0);
    }
    return Int32GetDatum(*version);
}

// discard_conflict(conflict_id uuid, reason text) RETURNS boolean
CE_PRIMARY_FUNCTION(ce_discard_conflict, "discard_conflict") {
    pg_uuid_t conflict_id = uuid_required(fcinfo, 0, "conflict_id");
    TextArg reason = text_arg(fcinfo, 1, "reason", 4096, true);
    ApiCall call;
    ConflictRow c = lock_conflict_to_close(call, conflict_id, false);
    close_conflict(call, c, c.created_by, std::nullopt, &reason);
    call.finish();
    return BoolGetDatum(true);
}

// conflict_hunks(conflict_id uuid) RETURNS TABLE (hunk, base_start, base_text, ours_start, ours_text,
//                                                 theirs_start, theirs_text)
CE_FUNCTION(ce_conflict_hunks) {
    pg_uuid_t conflict_id = uuid_required(fcinfo, 0, "conflict_id");
    ConflictRow c;
    ConflictTexts t = readable_texts(conflict_id, c);
    std::vector<ce::ConflictRegion> regions = regions_of(t);
    SetResult result(fcinfo);
    for (std::size_t i = 0; i < regions.size(); ++i) {
        const auto& r = regions[i];
        result.add({Int32GetDatum(static_cast<int32>(i + 1)), Int32GetDatum(r.base_start), text_datum(r.base),
                    Int32GetDatum(r.ours_start), text_datum(r.ours), Int32GetDatum(r.theirs_start), text_datum(r.theirs)},
                   std::vector<char>(7, false));
    }
    return result.done();
}

// conflict_texts(conflict_id uuid) RETURNS TABLE (base_version, base_text, ours_version, ours_text,
//                                                 theirs_version, theirs_text)
CE_FUNCTION(ce_conflict_texts) {
    pg_uuid_t conflict_id = uuid_required(fcinfo, 0, "conflict_id");
    ConflictRow c;
    ConflictTexts t = readable_texts(conflict_id, c);
    SetResult result(fcinfo);
    std::vector<char> nulls(6, false);
    nulls[4] = !c.theirs_version.has_value();
    result.add({Int32GetDatum(c.base_version), text_datum(t.base), Int32GetDatum(c.ours_version), text_datum(t.ours),
                Int32GetDatum(c.theirs_version.value_or(0)), text_datum(t.theirs)},
               nulls);
    return result.done();
}
