// Files (src/sql/20_files.sql, docs/reference/files.md): create_file, read,
// list_files, history, diff_versions, delete_file, rename_file (prune_history:
// history.cpp).
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "concurrent_edit/diff.hpp"
#include "concurrent_edit/path.hpp"
#include "pg/advisory.hpp"
#include "pg/compat_1_0.hpp"
#include "pg/hash.hpp"
#include "concurrent_edit/vclock.hpp"
#include "pg/conflicts.hpp"
#include "pg/feed.hpp"
#include "pg/file_head.hpp"
#include "pg/guc.hpp"
#include "pg/paths.hpp"
#include "pg/results.hpp"
#include "pg/sessions.hpp"
#include "pg/version_rows.hpp"
#include "pg/versions.hpp"
#include "pg/write.hpp"

using namespace ce::pg;

namespace {

[[noreturn]] void throw_version_not_found(const FileHead& f, int32 version) {
    throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                   "version " + std::to_string(version) + " of file " + uuid_to_string(f.id) + " does not exist",
                   "{\"file_id\": " + json_uuid(f.id) + ", \"version\": " + std::to_string(version) +
                       ", \"head_version\": " + std::to_string(f.head_version) + "}");
}

std::vector<pg_uuid_t> uuid_column(const Rows& r) {
    std::vector<pg_uuid_t> v;
    for (uint64 i = 0; i < r.size(); ++i) v.push_back(r.uuid(i, 0));
    return v;
}

// The least string above every string that starts with `prefix`, in byte order
// (COLLATE "C"): the prefix with its trailing 0xFF bytes dropped and its last byte
// incremented; empty when there is none (a prefix of 0xFF bytes only). Only ever a
// bound of a comparison, never stored or shown.
std::string prefix_end(std::string prefix) {
    while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
    if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
    return prefix;
}

}  // namespace

// create_file(project_id, path, content, author, session_id, file_id) RETURNS uuid
CE_PRIMARY_FUNCTION(ce_create_file, "create_file") {
    pg_uuid_t project = uuid_required(fcinfo, 0, "project_id");
    TextArg path = text_arg(fcinfo, 1, "path", ce::kMaxPathBytes);
    TextArg content = text_arg(fcinfo, 2, "content", max_input_bytes());
    UuidArg author = uuid_arg(fcinfo, 3);
    UuidArg session = uuid_arg(fcinfo, 4);
    UuidArg wanted_id = uuid_arg(fcinfo, 5);
    std::string hash = content_hash(content.view());
    ApiCall call;
    call.require(project, Right::write);
    pg_uuid_t who = resolve_author(call, author, session, project);
    if (!wanted_id.null) {
        // Ids are unique by this check, not by an index (the key is (project_id,
        // id)): creators of one id serialize on its lock, and the latest snapshot
        // then sees a file the other committed, in any project.
        LOCKTAG tag = uuid_lock_tag(wanted_id.value, LockClass::file_id);
        pg_call([&tag] { (void)LockAcquire(&tag, ExclusiveLock, false, false); });
        static Statement exists("SELECT 1 FROM concurrent_edit.files f WHERE f.id = $1", {UUIDOID});
        if (!exists.run_latest(call.spi(), {uuid_datum(wanted_id.value)}).empty())
            throw SqlError(ERRCODE_UNIQUE_VIOLATION, "file " + uuid_to_string(wanted_id.value) + " already exists",
                           "{\"file_id\": " + json_uuid(wanted_id.value) + "}",
                           "Choose another id, or omit file_id to have one generated.");
    }
    std::string normalized = claim_path(call.spi(), project, path.str(), pg_uuid_t{});
    // Version 1 is a snapshot (its text in full); the file row keeps the head's text.
    ce::VClock clock;
    clock.increment(uuid_to_string(session.null ? who : session.value));
    static Statement ins(
        "WITH f AS (INSERT INTO concurrent_edit.files (project_id, id, path, normalized_path, head_version, head_hash, "
        "    head_clock, head_content, created_by, updated_by) "
        "    VALUES ($1, coalesce($5, gen_random_uuid()), $2, $10, 1, $3, $7::concurrent_edit.vclock, $8, $4, $4) "
        "    RETURNING project_id, id) "
        "INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, content_hash, created_by, "
        "    session_id, vector_clock, bytes) "
        "SELECT f.project_id, f.id, 1, $8, $3, $4, $6, $7::concurrent_edit.vclock, $9 FROM f RETURNING file_id",
        {UUIDOID, TEXTOID, TEXTOID, UUIDOID, UUIDOID, UUIDOID, TEXTOID, TEXTOID, INT4OID, TEXTOID});
    pg_uuid_t id = ins.run(call.spi(),
                           {uuid_datum(project), text_datum(path.view()), text_datum(hash), uuid_datum(who),
                            uuid_datum(wanted_id.value), uuid_datum(session.value), text_datum(clock.to_text()),
                            text_datum(content.view()), Int32GetDatum(static_cast<int32>(content.view().size())),
                            text_datum(normalized)},
                           std::string("    ") + (wanted_id.null ? "n" : " ") + (session.null ? "n" : " ") + "    ")
                       .uuid(0, 0);
    queue_change(call.spi(), file_event("created", project, id, session.null ? pg_uuid_t{} : session.value, who,
                                        normalized, 1, hash));
    call.finish();
    return uuid_datum(id);
}

// read(file_id uuid, version integer DEFAULT NULL) RETURNS SETOF read_result
CE_FUNCTION(ce_read) {
    pg_uuid_t file = uuid_required(fcinfo, 0, "file_id");
    std::optional<int32> version = int4_opt(fcinfo, 1);
    ApiCall call;
    if (!version) {
        // The head, in one statement: the file row with its text and the head
        // version's row (the project, last, is checked before anything is returned).
        static Statement head(
            "SELECT f.head_content, f.head_version, v.content_hash, v.created_by, v.created_at, f.path, "
            "       f.deleted_at, v.vector_clock, f.project_id "
            "FROM concurrent_edit.files f CROSS JOIN LATERAL (SELECT v.content_hash, v.created_by, v.created_at, "
            "    v.vector_clock FROM concurrent_edit.file_versions v WHERE v.project_id = f.project_id "
            "    AND v.file_id = f.id AND v.version = f.head_version LIMIT 1) v "  // by its whole key (versions.cpp)
            "WHERE f.id = $1",
            {UUIDOID}, Scans::by_key);
        SetResult result(fcinfo);
        bool done = false;
        {
            Rows r = head.run(call.spi(), {uuid_datum(file)}, {}, true);
            if (!r.empty() && !r.isnull(0, 0)) {
                pg_uuid_t project = r.uuid(0, 8);
                uint64 generation = call.spi().generation();
                call.require(project, Right::read);
                if (call.spi().generation() == generation) {
                    result.add_rows(r);  // the rights came from the cache: `r` is still alive
                } else {
                    Rows again = head.run(call.spi(), {uuid_datum(file)}, {}, true);
                    if (again.empty() || again.isnull(0, 0)) throw_file_not_found(file);
                    result.add_rows(again);
                }
                done = true;
            }
        }
        if (done) {
            call.finish();
            return result.done();
        }
        // Otherwise (no such file, no stored head text): the general path below.
    }
    FileHead f = find_file(call.spi(), file);
    call.require(f.project_id, Right::read);
    // The version is a parameter of the index scan (a generic plan cannot use a
    // coalesce() over the file row as an index condition).
    static Statement q(
        "SELECT CASE WHEN v.version = f.head_version THEN f.head_content ELSE v.content END, "
        "       v.version, v.content_hash, v.created_by, v.created_at, f.path, f.deleted_at, v.vector_clock "
        "FROM concurrent_edit.file_versions v JOIN concurrent_edit.files f ON f.project_id = v.project_id "
        "  AND f.id = v.file_id "
        "WHERE v.project_id = $1 AND v.file_id = $2 AND v.version = $3",
        {UUIDOID, UUIDOID, INT4OID}, Scans::by_key);
    SetResult result(fcinfo);
    {
        Rows r = q.run(call.spi(), {uuid_datum(f.project_id), uuid_datum(file), Int32GetDatum(version.value_or(f.head_version))},
                       {}, true);
        if (r.empty()) throw_version_not_found(f, version.value_or(f.head_version));
        if (!r.isnull(0, 0)) {
            result.add_rows(r);  // the head, or a version stored in full
        } else {
            // A delta: rebuilt along its chain (a later statement: `r` is dead then).
            int32 v = r.int4(0, 1);
            auto text = fetch_version(f.project_id, file, v);
            if (!text) throw_version_not_found(f, v);
            Rows again = q.run(call.spi(), {uuid_datum(f.project_id), uuid_datum(file), Int32GetDatum(v)}, {}, true);
            if (again.empty()) throw_version_not_found(f, v);
            result.add_rows(again, 0, text_datum(text->content));
        }
    }
    call.finish();
    return result.done();
}

// list_files(project_id uuid, path_prefix text DEFAULT NULL) RETURNS TABLE (...):
// the project's live files whose path key starts with the key of path_prefix (a
// trailing slash kept: "src/" matches "src/a.ts", not "srcx"), in key byte order.
// A range on files_live_key_c_idx (project_id, normalized_path COLLATE "C").
CE_FUNCTION(ce_list_files) {
    pg_uuid_t project = uuid_required(fcinfo, 0, "project_id");
    TextArg prefix = text_arg(fcinfo, 1, "path_prefix", ce::kMaxPathBytes, true);
    ApiCall call;
    call.require(project, Right::read);
    std::string from, to;
    if (!prefix.isnull && prefix.len > 0) {
        from = path_key(prefix.view(), project_path_options_read(call.spi(), project));
        char last = prefix.view().back();
        if (last == '/' || last == '\\') from += '/';
        to = prefix_end(from);
    }
#define CE_LIST_FILES(range)                                                                             \
    "SELECT f.id, f.path, f.normalized_path, f.head_version, f.head_hash, "                              \
    "       pg_catalog.octet_length(f.head_content)::bigint, f.created_by, f.created_at, f.updated_by, "  \
    "       f.updated_at FROM concurrent_edit.files f "                                                  \
    "WHERE f.project_id = $1 AND f.deleted_at IS NULL AND f.normalized_path COLLATE \"C\" >= $2" range  \
    " ORDER BY f.normalized_path COLLATE \"C\""
    static Statement from_key(CE_LIST_FILES(""), {UUIDOID, TEXTOID});
    static Statement key_range(CE_LIST_FILES(" AND f.normalized_path COLLATE \"C\" < $3"), {UUIDOID, TEXTOID, TEXTOID});
#undef CE_LIST_FILES
    SetResult result(fcinfo);
    if (to.empty()) result.add_rows(from_key.run(call.spi(), {uuid_datum(project), text_datum(from)}, {}, true));
    else
        result.add_rows(
            key_range.run(call.spi(), {uuid_datum(project), text_datum(from), text_datum(to)}, {}, true));
    call.finish();
    return result.done();
}

// history(file_id uuid) RETURNS TABLE (version, content_hash, created_by, created_at, session_id, bytes, is_head, vector_clock)
CE_FUNCTION(ce_history) {
    pg_uuid_t file = uuid_required(fcinfo, 0, "file_id");
    ApiCall call;
    FileHead f = find_file(call.spi(), file);
    call.require(f.project_id, Right::read);
    static Statement q(
        "SELECT v.version, v.content_hash, v.created_by, v.created_at, v.session_id, "
        "       v.bytes, v.version = $3, v.vector_clock "
        "FROM concurrent_edit.file_versions v WHERE v.project_id = $1 AND v.file_id = $2 ORDER BY v.version",
        {UUIDOID, UUIDOID, INT4OID});
    SetResult result(fcinfo);
    result.add_rows(q.run(call.spi(), {uuid_datum(f.project_id), uuid_datum(file), Int32GetDatum(f.head_version)}, {},
                          true));
    call.finish();
    return result.done();
}

// diff_versions(file_id uuid, from_version integer, to_version integer) RETURNS text
CE_FUNCTION(ce_diff_versions) {
    pg_uuid_t file = uuid_required(fcinfo, 0, "file_id");
    int32 from = int4_arg(fcinfo, 1, "from_version");
    int32 to = int4_arg(fcinfo, 2, "to_version");
    ApiCall call;
    FileHead f = find_file(call.spi(), file);
    call.require(f.project_id, Right::read);
    auto a = fetch_version(f.project_id, file, from);
    if (!a) throw_version_not_found(f, from);
    auto b = fetch_version(f.project_id, file, to);
    if (!b) throw_version_not_found(f, to);
    // Labelled with the path's structure as the key has it ('/', no "." segments,
    // the project's Unicode form) and its letter case as spelled: a patch names the
    // file as it is checked out, not as the key folds it.
    ce::PathOptions spelled = project_path_options_read(call.spi(), f.project_id);
    spelled.case_insensitive = false;
    std::string label = f.normalized_path;
    try {
        label = path_key(f.path, spelled);
    } catch (const ce::Error&) {
        // Unfolded, a path whose key is near the 2,048-byte limit may pass it
        // (54000): the key labels the diff then.
    }
    call.finish();
    std::string diff = [&] {
        ce::memory::Budget budget = merge_budget();  // as diff(): concurrent_edit.max_merge_memory
        return ce::unified_diff(a->content, b->content, 3, "a/" + label, "b/" + label, diff_algorithm());
    }();
    return text_datum(diff);
}

// delete_file(file_id, author, session_id, force, base_version)
//   RETURNS TABLE (status, version, open_sessions, draft_sessions)
CE_PRIMARY_FUNCTION(ce_delete_file, "delete_file") {
    pg_uuid_t file = uuid_required(fcinfo, 0, "file_id");
    UuidArg author = uuid_arg(fcinfo, 1);
    UuidArg session = uuid_arg(fcinfo, 2);
    bool force = bool_arg(fcinfo, 3, false);
    std::optional<int32> base_version = int4_opt(fcinfo, 4);
    ApiCall call;
    pg_uuid_t sid = session.null ? pg_uuid_t{} : session.value;
    FileHead h = lock_file_checked(call, file, sid, Right::write);
    pg_uuid_t who = resolve_author(call, author, session, h.project_id);
    if (h.deleted)
        throw SqlError(CE_ERRCODE_FILE_DELETED, "file " + uuid_to_string(h.id) + " is already deleted",
                       head_detail(h, std::nullopt, std::nullopt));
    if (base_version && *base_version != h.head_version)
        throw SqlError(CE_ERRCODE_STALE_VERSION,
                       "file " + uuid_to_string(h.id) + " was modified after version " + std::to_string(*base_version),
                       head_detail(h, base_version, std::nullopt),
                       "Read the head version before deleting, or omit base_version.");
    if (h.locked_by_other) throw_file_locked(h);
    static Statement q_open(
        "SELECT s.session_id FROM concurrent_edit.session_files s JOIN concurrent_edit.edit_sessions e "
        "  ON e.project_id = s.project_id AND e.id = s.session_id AND e.status <> 'closed' "
        "WHERE s.project_id = $1 AND s.file_id = $2 AND s.session_id IS DISTINCT FROM $3 ORDER BY 1",
        {UUIDOID, UUIDOID, UUIDOID});
    static Statement q_drafts(
        "SELECT p.session_id FROM concurrent_edit.pending_changes p JOIN concurrent_edit.edit_sessions e "
        "  ON e.project_id = p.project_id AND e.id = p.session_id AND e.status <> 'closed' "
        "WHERE p.project_id = $1 AND p.file_id = $2 AND p.session_id IS DISTINCT FROM $3 ORDER BY 1",
        {UUIDOID, UUIDOID, UUIDOID});
    const char* nulls = session.null ? "  n" : "";
    std::vector<pg_uuid_t> open =
        uuid_column(q_open.run(call.spi(), {uuid_datum(h.project_id), uuid_datum(h.id), uuid_datum(sid)}, nulls));
    std::vector<pg_uuid_t> drafts =
        uuid_column(q_drafts.run(call.spi(), {uuid_datum(h.project_id), uuid_datum(h.id), uuid_datum(sid)}, nulls));
    std::string status = "deleted";
    if ((!open.empty() || !drafts.empty()) && !force) {
        status = "conflict";
    } else {
        static Statement del(
            "UPDATE concurrent_edit.files SET deleted_at = now(), deleted_by = $3, updated_by = $3, "
            "updated_at = now() WHERE project_id = $1 AND id = $2",
            {UUIDOID, UUIDOID, UUIDOID});
        del.run(call.spi(), {uuid_datum(h.project_id), uuid_datum(h.id), uuid_datum(who)});
        std::string extra = "\"open_sessions\": [";
        for (std::size_t i = 0; i < open.size(); ++i) extra += (i ? ", " : "") + json_uuid(open[i]);
        extra += "], \"draft_sessions\": [";
        for (std::size_t i = 0; i < drafts.size(); ++i) extra += (i ? ", " : "") + json_uuid(drafts[i]);
        extra += "]";
        queue_change(call.spi(), file_event("deleted", h.project_id, h.id, sid, who, h.normalized_path, h.head_version,
                                            h.head_hash, std::move(extra)));
    }
    call.finish();
    Record r(fcinfo);
    r.set(0, text_datum(status));
    r.set(1, Int32GetDatum(h.head_version));
    r.set(2, uuid_array_datum(open));
    r.set(3, uuid_array_datum(drafts));
    return r.datum();
}

// rename_file(file_id, new_path, author, session_id, expected_path, base_version, strategy)
//   RETURNS TABLE (path, normalized_path, old_path, status, conflict_id)
CE_PRIMARY_FUNCTION(ce_rename_file, "rename_file") {
    refuse_1_0_declaration(fcinfo, "rename_file", 7);  // 1.0: 4 arguments, 3 result columns
    pg_uuid_t file = uuid_required(fcinfo, 0, "file_id");
    TextArg new_path = text_arg(fcinfo, 1, "new_path", ce::kMaxPathBytes);
    UuidArg author = uuid_arg(fcinfo, 2);
    UuidArg session = uuid_arg(fcinfo, 3);
    TextArg expected_path = text_arg(fcinfo, 4, "expected_path", ce::kMaxPathBytes, true);
    std::optional<int32> base_version = int4_opt(fcinfo, 5);
    Strategy strategy = parse_strategy(PG_NARGS() > 6 && !PG_ARGISNULL(6) ? text_arg(fcinfo, 6, "strategy", 64).view()
                                                                          : std::string_view("merge"));
    ApiCall call;
    pg_uuid_t sid = session.null ? pg_uuid_t{} : session.value;
    pg_uuid_t who;
    // The project's path options first (their lock, shared, before the file's row:
    // set_project_options takes them in that order too).
    pg_uuid_t project = find_file(call.spi(), file).project_id;
    call.require(project, Right::write);
    ce::PathOptions options = project_path_options(call.spi(), project);
    (void)path_key(new_path.view(), options);  // a refused path is refused, even in a rename conflict
    FileHead h = lock_for_change(call, file, author, session, "renamed", &who);
    if (base_version && (*base_version < 1 || *base_version > h.head_version))
        throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                       "base version " + std::to_string(*base_version) + " of file " + uuid_to_string(h.id) +
                           " does not exist",
                       head_detail(h, base_version, std::nullopt), "Pass the version the rename was decided on.");
    std::string old_path = h.path;
    // From a view another rename has changed: the path it saw is gone (keys compared
    // under the project's options), or, without an expected path, the file was
    // renamed at or after the version it saw (a rename makes no version, so a
    // reader of that version after the rename passes the path it read). A rename
    // to the path the file already has is no conflict: it changes nothing.
    bool stale = !expected_path.isnull
                     ? path_key(expected_path.view(), options) != h.normalized_path
                     : (base_version && h.renamed_at_version && *base_version <= *h.renamed_at_version);
    if (new_path.view() == h.path) stale = false;
    std::string status = old_path == new_path.view() ? "unchanged" : "renamed";
    pg_uuid_t conflict{};
    std::string normalized = h.normalized_path;
    if (stale && strategy != Strategy::last_write_wins) {
        // Whole paths (a path is at most 4,096 bytes): resolve_conflict(choose =>
        // 'theirs') moves the file to the proposed path read back from these
        // details, and an excerpt cut at 64 bytes moved it to a cut path.
        constexpr std::size_t whole = std::numeric_limits<std::size_t>::max();
        ce::Detail d;
        d.add("file_id", uuid_to_string(h.id))
            .add("current_path", h.path, whole)
            .add("proposed_path", new_path.view(), whole);
        if (!expected_path.isnull) d.add("expected_path", expected_path.view(), whole);
        if (base_version) d.add("base_version", *base_version);
        if (h.renamed_at_version) d.add("renamed_at_version", *h.renamed_at_version);
        if (strategy != Strategy::merge)
            throw SqlError(CE_ERRCODE_STALE_VERSION, "file " + uuid_to_string(h.id) + " was renamed by another writer",
                           d,
                           "Read the file's current path and rename again, passing it as expected_path (a rename "
                           "makes no version: base_version cannot tell that you saw it).");
        conflict = record_conflict(call.spi(), call.caller(), h, "rename", base_version.value_or(h.head_version), "",
                                   strategy_name(strategy), d, who, sid);
        status = "conflict";
    } else {
        normalized = move_file(call.spi(), h, new_path.str(), who, sid);
    }
    call.finish();
    Record r(fcinfo);
    r.set(0, text_datum(status == "conflict" ? std::string_view(old_path) : new_path.view()));
    r.set(1, text_datum(normalized));
    r.set(2, text_datum(old_path));
    r.set(3, text_datum(status));
    if (status == "conflict") r.set(4, uuid_datum(conflict));
    else r.set_null(4);
    return r.datum();
}

// The row checks of files and file_versions (files_row_check, file_versions_row_check
// in 20_files.sql). A table's CHECK expression is read back from the catalog and
// planned again by every statement that writes the table, so each table has one
// CHECK calling one of these (a single node to read) rather than several
// expressions. NULL arguments pass, as in a CHECK: the NOT NULL constraints
// refuse them.

// _file_row_ok(head_version integer, deleted_at timestamptz, deleted_by uuid):
// head_version >= 1, and deleted_at and deleted_by both set or both NULL.
CE_FUNCTION(ce_file_row_ok) {
    return BoolGetDatum(file_row_ok(int4_opt(fcinfo, 0), PG_ARGISNULL(1), PG_ARGISNULL(2)));
}

// _file_version_row_ok(version, content, delta, delta_base, depth, bytes): version
// >= 1; stored in full (content, depth 0) or as a delta (delta and an older
// delta_base, depth >= 1), never both; bytes >= 0.
CE_FUNCTION(ce_file_version_row_ok) {
    return BoolGetDatum(file_version_row_ok(int4_opt(fcinfo, 0), !PG_ARGISNULL(1), !PG_ARGISNULL(2),
                                            int4_opt(fcinfo, 3), int4_opt(fcinfo, 4), int4_opt(fcinfo, 5)));
}
