// Conflicts (src/sql/40_conflicts.sql, docs/reference/conflicts.md): recording,
// list_conflicts, resolve_conflict.
#include "pg/conflicts.hpp"

#include <optional>

#include "concurrent_edit/merge.hpp"
#include "pg/hash.hpp"
#include "pg/api.hpp"
#include "pg/feed.hpp"
#include "pg/guc.hpp"
#include "pg/results.hpp"
#include "pg/versions.hpp"

namespace ce::pg {

pg_uuid_t record_conflict(Spi& spi, Oid role, const FileHead& h, const char* kind, int32 base_version,
                          std::string_view theirs, const char* strategy, const std::string& details,
                          const pg_uuid_t& author, const pg_uuid_t& session_id) {
    static Statement q(
        "INSERT INTO concurrent_edit.conflict_history (project_id, file_id, kind, base_version, ours_version, "
        "    theirs_content, strategy, details, session_id, created_by, created_role) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11) RETURNING id",
        {UUIDOID, UUIDOID, TEXTOID, INT4OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, UUIDOID, UUIDOID, OIDOID});
    std::string nulls(11, ' ');
    if (uuid_is_null(session_id)) nulls[8] = 'n';
    pg_uuid_t id = q.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), text_datum(kind), Int32GetDatum(base_version),
                               Int32GetDatum(h.head_version), text_datum(theirs), text_datum(strategy),
                               text_datum(details), uuid_datum(session_id), uuid_datum(author), ObjectIdGetDatum(role)},
                         nulls)
                       .uuid(0, 0);
    queue_change(spi, file_event("conflict", h.project_id, h.id, session_id, author, h.normalized_path, h.head_version,
                                 h.head_hash,
                                 "\"conflict_id\": \"" + uuid_to_string(id) + "\", \"kind\": \"" + kind + "\""));
    return id;
}

}  // namespace ce::pg

using namespace ce::pg;

// list_conflicts(file_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, include_resolved boolean DEFAULT false)
//   RETURNS SETOF conflict_info
// Row conflicts carry row data: they are listed only to roles that may SELECT
// their table. The conflicts of no project (row conflicts of tables without a
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
        "       CASE WHEN jsonb_typeof(c.details -> 'conflicts') = 'array' THEN jsonb_array_length(c.details -> 'conflicts') "
        "            ELSE coalesce((c.details ->> 'conflicts')::integer, 0) END, "
        "       c.created_by, c.created_at, c.resolved_by, c.resolved_at, c.resolution_version, c.details, "
        "       c.row_relation, c.row_key "
        "FROM concurrent_edit.conflict_history c "
        "LEFT JOIN concurrent_edit.files f ON f.project_id = c.project_id AND f.id = c.file_id "
        "WHERE c.project_id = $1 AND ($2::uuid IS NULL OR c.file_id = $2) "
        "  AND ($3 OR c.resolved_at IS NULL) AND (NOT $5 OR c.kind = 'row') "
        "  AND (c.kind <> 'row' OR pg_catalog.has_table_privilege($4, pg_catalog.to_regclass(c.row_relation), 'SELECT')) "
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

// resolve_conflict(conflict_id, content, resolved_by) RETURNS integer
CE_FUNCTION(ce_resolve_conflict) {
    pg_uuid_t conflict_id = uuid_required(fcinfo, 0, "conflict_id");
    TextArg content = text_arg(fcinfo, 1, "content", max_input_bytes(), true);
    pg_uuid_t resolved_by = uuid_required(fcinfo, 2, "resolved_by");
    ApiCall call;
    static Statement q(
        "SELECT c.project_id, c.file_id, c.kind, c.base_version, c.ours_version, c.resolved_at IS NOT NULL, "
        "       c.created_role::oid, c.row_relation "
        "FROM concurrent_edit.conflict_history c WHERE c.id = $1 FOR UPDATE",
        {UUIDOID});
    std::string cid = uuid_to_string(conflict_id);
    pg_uuid_t project, file;
    std::string kind, relation;
    int32 ours_version;
    Oid created_role;
    bool resolved;
    {
        Rows c = q.run(call.spi(), {uuid_datum(conflict_id)});
        if (c.empty())
            throw SqlError(CE_ERRCODE_CONFLICT_NOT_OPEN, "conflict " + cid + " does not exist",
                           "{\"conflict_id\": \"" + cid + "\"}");
        project = c.uuid(0, 0);
        file = c.uuid(0, 1);
        kind = c.text(0, 2);
        ours_version = c.int4(0, 4);
        created_role = c.oid(0, 6);
        relation = c.text(0, 7);
        resolved = c.boolean(0, 5);
    }
    {
        // Whose conflict: its own writer resolves it with write, anyone else needs admin.
        Oid caller = call.caller();
        bool own = OidIsValid(created_role) && pg_call([caller, created_role] { return has_privs_of_role(caller, created_role); });
        Right has = call.right(project);
        bool may = has >= (own ? Right::write : Right::admin);
        if (!may && kind == "row") {
            // A row conflict may also be closed by whoever may update its table.
            static Statement upd("SELECT pg_catalog.has_table_privilege($1, pg_catalog.to_regclass($2), 'UPDATE')",
                                 {OIDOID, TEXTOID});
            may = upd.run(call.spi(), {ObjectIdGetDatum(caller), text_datum(relation)}, {}, true).boolean(0, 0);
        }
        if (!may) throw_access_denied(caller, &project, own ? Right::write : Right::admin, has,
                                      own ? std::string() : "conflict " + cid + " was recorded by another role");
        if (resolved)
            throw SqlError(CE_ERRCODE_CONFLICT_NOT_OPEN, "conflict " + cid + " is already resolved",
                           "{\"conflict_id\": \"" + cid + "\"}");
    }
    if (kind == "row") {
        // A row is resolved by an UPDATE under the trigger; this only closes the record.
        if (!content.isnull)
            throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "conflict " + cid + " is a row conflict: it takes no content",
                           ce::Detail().add("conflict_id", cid).add("argument", "content"), "Update the row (with the version you read), then call resolve_conflict(" + cid +
                                   ", NULL, resolved_by).");
        static Statement close_row(
            "UPDATE concurrent_edit.conflict_history SET resolved_by = $3, resolved_at = now() "
            "WHERE project_id = $1 AND id = $2",
            {UUIDOID, UUIDOID, UUIDOID});
        close_row.run(call.spi(), {uuid_datum(project), uuid_datum(conflict_id), uuid_datum(resolved_by)});
        ChangeEvent ev;
        ev.event = "conflict_resolved";
        ev.project_id = project;
        ev.author = resolved_by;
        ev.extra = "\"conflict_id\": \"" + cid + "\", \"kind\": \"row\"";
        queue_change(call.spi(), std::move(ev));
        call.finish();
        fcinfo->isnull = true;  // no file version was written
        return Datum(0);
    }
    if (content.isnull) require_arg(fcinfo, 1, "content");

    FileHead h = lock_file(call.spi(), file, pg_uuid_t{});
    std::string hash = content_hash(content.view());
    int32 version = h.head_version;
    if (h.deleted) {
        // Resolving a write to a deleted file restores the file with the resolution.
        claim_path(call.spi(), h.project_id, h.path, h.normalized_path, h.id);
        static Statement undelete(
            "UPDATE concurrent_edit.files SET deleted_at = NULL, deleted_by = NULL WHERE project_id = $1 AND id = $2",
            {UUIDOID, UUIDOID});
        undelete.run(call.spi(), {uuid_datum(h.project_id), uuid_datum(h.id)});
        version = append_version(call.spi(), h, content.view(), hash, resolved_by, pg_uuid_t{});
    } else if (h.head_version == ours_version) {
        if (hash != h.head_hash) version = append_version(call.spi(), h, content.view(), hash, resolved_by, pg_uuid_t{});
    } else {
        // The head moved since the conflict: merge the resolution onto it.
        auto base = fetch_version(call.spi(), h.project_id, h.id, ours_version);
        auto head = fetch_version(call.spi(), h.project_id, h.id, h.head_version);
        if (!base || !head)
            throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND, "versions needed to merge the resolution are missing",
                           head_detail(h, ours_version, std::nullopt));
        ce::MergeOptions opts;
        opts.ours_label = "version " + std::to_string(h.head_version);
        opts.base_label = "version " + std::to_string(ours_version);
        opts.theirs_label = "resolution";
        opts.algorithm = diff_algorithm();
        ce::MergeResult m = [&] {
            ce::memory::Budget budget = merge_budget();
            return ce::merge3(base->content, head->content, content.view(), opts);
        }();
        if (!m.clean)
            throw SqlError(CE_ERRCODE_STALE_VERSION,
                           "file " + uuid_to_string(h.id) + " changed since the conflict and the resolution "
                           "conflicts with that change",
                           head_detail(h, ours_version, std::nullopt),
                           "Read the head version, resolve again on top of it, and retry.");
        std::string mh = content_hash(m.content);
        if (mh != h.head_hash) version = append_version(call.spi(), h, m.content, mh, resolved_by, pg_uuid_t{});
    }
    static Statement done(
        "UPDATE concurrent_edit.conflict_history SET resolved_by = $3, resolved_at = now(), "
        "resolution_version = $4 WHERE project_id = $1 AND id = $2",
        {UUIDOID, UUIDOID, UUIDOID, INT4OID});
    done.run(call.spi(), {uuid_datum(h.project_id), uuid_datum(conflict_id), uuid_datum(resolved_by),
                          Int32GetDatum(version)});
    queue_change(call.spi(), file_event("conflict_resolved", h.project_id, h.id, pg_uuid_t{}, resolved_by,
                                        h.normalized_path, version, "",
                                        "\"conflict_id\": \"" + cid + "\", \"kind\": \"" + kind + "\""));
    call.finish();
    return Int32GetDatum(version);
}
