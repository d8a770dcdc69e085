// Path identity per project (src/sql/22_paths.sql, docs/reference/paths.md): the
// project's options, the key of a path under them, set_project_options (which
// recomputes the keys of the project's files), project_options and file_at.
#include "pg/paths.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "pg/api.hpp"
#include "pg/feed.hpp"
#include "pg/file_head.hpp"
#include "pg/results.hpp"

namespace ce::pg {
namespace {

// The stored options row of a project, if any.
struct StoredOptions {
    ce::PathOptions path;  // the defaults when there is no row
    bool stored = false;
    std::string updated_by;
    int64 updated_at = 0;  // TimestampTz
};

// With `latest`, what is committed now (writers, under the options lock); else as
// the statement's snapshot sees it (readers: the options and the keys agree).
StoredOptions read_options(Spi& spi, const pg_uuid_t& project, bool latest) {
    static Statement q(
        "SELECT o.case_insensitive, o.unicode_normalization, o.updated_by, o.updated_at "
        "FROM concurrent_edit.project_options o WHERE o.project_id = $1",
        {UUIDOID});
    Rows r = latest ? q.run_latest(spi, {uuid_datum(project)}) : q.run(spi, {uuid_datum(project)}, {}, true);
    StoredOptions o;
    if (r.empty()) return o;
    o.stored = true;
    o.path.case_insensitive = r.boolean(0, 0);
    o.path.unicode = ce::parse_unicode_normalization(r.text(0, 1));
    o.updated_by = r.text(0, 2);
    o.updated_at = r.int8(0, 3);
    return o;
}

struct FileKey {
    pg_uuid_t id;
    std::string path, key, new_key;
    bool live;
    int32 version = 0;
    std::string hash;
};

// 23505 naming up to 10 keys that several live files would share (nothing changed).
[[noreturn]] void throw_collisions(const pg_uuid_t& project, const ce::PathOptions& options,
                                   const std::vector<FileKey>& files,
                                   const std::vector<std::vector<std::size_t>>& groups) {
    constexpr std::size_t kShown = 10;
    std::string d = "{\"project_id\": " + json_uuid(project) +
                    ", \"case_insensitive\": " + (options.case_insensitive ? "true" : "false") +
                    ", \"unicode_normalization\": \"" + ce::unicode_normalization_name(options.unicode) +
                    "\", \"collisions\": [";
    for (std::size_t g = 0; g < groups.size() && g < kShown; ++g) {
        d += g ? ", {\"normalized_path\": " : "{\"normalized_path\": ";
        append_json_string(d, files[groups[g][0]].new_key);
        d += ", \"files\": [";
        for (std::size_t i = 0; i < groups[g].size() && i < kShown; ++i) {
            const FileKey& f = files[groups[g][i]];
            d += (i ? ", {\"file_id\": " : "{\"file_id\": ") + json_uuid(f.id) + ", \"path\": ";
            append_json_string(d, f.path);
            d += "}";
        }
        d += "]}";
    }
    std::size_t colliding = 0;
    for (const auto& g : groups) colliding += g.size();
    d += "], \"count\": " + std::to_string(groups.size()) + "}";
    throw SqlError(ERRCODE_UNIQUE_VIOLATION,
                   "under these options " + std::to_string(colliding) + " live files of project " +
                       uuid_to_string(project) + " would share " + std::to_string(groups.size()) + " path key(s)",
                   d, "Rename or delete all but one file of each collision, then set the options again.");
}

// Recomputes the key of every file of the project (deleted ones too: a restored
// file keeps its key) under `options`; refuses, with nothing changed, when two
// live files would share a key. Returns how many keys changed.
int32 rekey_files(Spi& spi, const pg_uuid_t& project, const ce::PathOptions& options) {
    static Statement q(
        "SELECT f.id, f.path, f.normalized_path, f.deleted_at IS NULL, f.head_version, f.head_hash "
        "FROM concurrent_edit.files f WHERE f.project_id = $1 ORDER BY f.path, f.id",
        {UUIDOID});
    std::vector<FileKey> files;
    {
        Rows r = q.run_latest(spi, {uuid_datum(project)});
        files.reserve(r.size());
        for (uint64 i = 0; i < r.size(); ++i)
            files.push_back({r.uuid(i, 0), r.text(i, 1), r.text(i, 2), {}, r.boolean(i, 3), r.int4(i, 4), r.text(i, 5)});
    }
    std::map<std::string, std::vector<std::size_t>> live_keys;
    for (std::size_t i = 0; i < files.size(); ++i) {
        FileKey& f = files[i];
        check_interrupts();
        try {
            f.new_key = path_key(f.path, options);
        } catch (const ce::Error& e) {
            // A path stored before the current rules (an invisible character, a key
            // over 2048 bytes): a deleted file keeps its key; a live one is named,
            // to be renamed first.
            if (!f.live) {
                f.new_key = f.key;
                continue;
            }
            throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE,
                           "file " + uuid_to_string(f.id) + " of project " + uuid_to_string(project) +
                               " has a path the current rules refuse: " + e.what(),
                           ce::Detail().add("project_id", uuid_to_string(project)).add("file_id", uuid_to_string(f.id))
                               .add_json("refusal", e.detail().empty() ? "{}" : e.detail()),
                           "Rename the file (rename_file), then set the options again.");
        }
        if (f.live) live_keys[f.new_key].push_back(i);
    }
    std::vector<std::vector<std::size_t>> groups;
    for (auto& [key, ids] : live_keys)
        if (ids.size() > 1) groups.push_back(ids);
    if (!groups.empty()) throw_collisions(project, options, files, groups);

    std::vector<pg_uuid_t> changed, changed_live;
    std::vector<std::string> keys;
    std::map<std::string, std::size_t> current_live;  // key before the change -> file
    for (std::size_t i = 0; i < files.size(); ++i)
        if (files[i].live) current_live[files[i].key] = i;
    bool clash = false;
    for (std::size_t i = 0; i < files.size(); ++i) {
        const FileKey& f = files[i];
        if (f.new_key == f.key) continue;
        changed.push_back(f.id);
        keys.push_back(f.new_key);
        if (!f.live) continue;
        changed_live.push_back(f.id);
        auto other = current_live.find(f.new_key);
        clash = clash || (other != current_live.end() && other->second != i);
    }
    // The unique index is checked row by row: when a live file's new key is still
    // another (changing) live file's key, the changing live files first get keys no
    // path has ("/" and their id), then their new keys.
    if (clash) {
        static Statement park(
            "UPDATE concurrent_edit.files f SET normalized_path = '/' || f.id::text "
            "WHERE f.project_id = $1 AND f.id = ANY ($2)",
            {UUIDOID, UUIDARRAYOID});
        park.run(spi, {uuid_datum(project), uuid_array_datum(changed_live)});
    }
    // The head of each file as the UPDATE leaves it: a write or a delete that
    // committed while the UPDATE waited for the file's row is in it (the rows read
    // above are older), so the events below name the version and hash that are
    // the head now, and no event is made for a file deleted meanwhile.
    struct Head {
        int32 version;
        std::string hash;
        bool live;
    };
    std::map<pg_uuid_t, Head, bool (*)(const pg_uuid_t&, const pg_uuid_t&)> heads(uuid_less);
    if (!changed.empty()) {
        static Statement upd(
            "UPDATE concurrent_edit.files f SET normalized_path = u.key "
            "FROM ROWS FROM (pg_catalog.unnest($2::uuid[]), pg_catalog.unnest($3::text[])) AS u(id, key) "
            "WHERE f.project_id = $1 AND f.id = u.id "
            "RETURNING f.id, f.head_version, f.head_hash, f.deleted_at IS NULL",
            {UUIDOID, UUIDARRAYOID, TEXTARRAYOID});
        Rows r = upd.run(spi, {uuid_datum(project), uuid_array_datum(changed), text_array_datum(keys)});
        for (uint64 i = 0; i < r.size(); ++i) heads[r.uuid(i, 0)] = Head{r.int4(i, 1), r.text(i, 2), r.boolean(i, 3)};
    }
    // A live file whose key changed is announced as renamed (its path as given
    // stays): clients that follow the feed's paths see the new key.
    for (const FileKey& f : files) {
        if (!f.live || f.new_key == f.key) continue;
        auto h = heads.find(f.id);
        if (h == heads.end() || !h->second.live) continue;
        check_interrupts();
        queue_change(spi, file_event("renamed", project, f.id, pg_uuid_t{}, pg_uuid_t{}, f.new_key, h->second.version,
                                     h->second.hash, renamed_details(f.key, f.path, f.path) + ", \"rekeyed\": true"));
    }
    return static_cast<int32>(changed.size());
}

}  // namespace

std::string path_key(std::string_view path, const ce::PathOptions& options) {
    if (core_checks_server_text()) return ce::normalize_path(path, options);
    // The core works on UTF-8: convert the path, and its key back.
    return utf8_to_server(ce::normalize_path(server_to_utf8(std::string(path)), options));
}

ce::PathOptions project_path_options(Spi& spi, const pg_uuid_t& project) {
    lock_project_paths(project, false);
    return read_options(spi, project, true).path;
}

ce::PathOptions project_path_options_read(Spi& spi, const pg_uuid_t& project) {
    return read_options(spi, project, false).path;
}

}  // namespace ce::pg

using namespace ce::pg;

// set_project_options(project_id uuid, case_insensitive boolean DEFAULT NULL,
//                     unicode_normalization text DEFAULT NULL)
//   RETURNS TABLE (project_id uuid, case_insensitive boolean, unicode_normalization text, rekeyed_files integer)
CE_PRIMARY_FUNCTION(ce_set_project_options, "set_project_options") {
    pg_uuid_t project = uuid_required(fcinfo, 0, "project_id");
    std::optional<bool> case_insensitive = bool_opt(fcinfo, 1);
    std::optional<ce::UnicodeNormalization> unicode;
    if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
        unicode = ce::parse_unicode_normalization(text_arg(fcinfo, 2, "unicode_normalization", 64).view());
    ApiCall call;
    call.require(project, Right::admin);
    // Exclusive: creations and renames in the project wait until this commits, and
    // this waits for those in progress.
    lock_project_paths(project, true);
    ce::PathOptions options = project_path_options(call.spi(), project);
    if (case_insensitive) options.case_insensitive = *case_insensitive;
    if (unicode) options.unicode = *unicode;
    int32 rekeyed = rekey_files(call.spi(), project, options);
    Oid caller = call.caller();
    const char* role = pg_call([caller] { return GetUserNameFromId(caller, true); });
    static Statement upsert(
        "INSERT INTO concurrent_edit.project_options AS o (project_id, case_insensitive, unicode_normalization, "
        "    updated_by) VALUES ($1, $2, $3, $4) ON CONFLICT (project_id) DO UPDATE "
        "SET case_insensitive = EXCLUDED.case_insensitive, unicode_normalization = EXCLUDED.unicode_normalization, "
        "    updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at",
        {UUIDOID, BOOLOID, TEXTOID, TEXTOID});
    upsert.run(call.spi(), {uuid_datum(project), BoolGetDatum(options.case_insensitive),
                            text_datum(ce::unicode_normalization_name(options.unicode)),
                            text_datum(role != nullptr ? role : "?")});
    call.finish();
    Record r(fcinfo);
    r.set(0, uuid_datum(project));
    r.set(1, BoolGetDatum(options.case_insensitive));
    r.set(2, text_datum(ce::unicode_normalization_name(options.unicode)));
    r.set(3, Int32GetDatum(rekeyed));
    return r.datum();
}

// project_options(project_id uuid)
//   RETURNS TABLE (project_id uuid, case_insensitive boolean, unicode_normalization text,
//                  updated_by text, updated_at timestamptz)
// One row: the stored options, or the defaults (updated_by and updated_at NULL).
CE_FUNCTION(ce_project_options) {
    pg_uuid_t project = uuid_required(fcinfo, 0, "project_id");
    ApiCall call;
    call.require(project, Right::read);
    StoredOptions o = read_options(call.spi(), project, false);
    call.finish();
    Record r(fcinfo);
    r.set(0, uuid_datum(project));
    r.set(1, BoolGetDatum(o.path.case_insensitive));
    r.set(2, text_datum(ce::unicode_normalization_name(o.path.unicode)));
    if (o.stored) {
        r.set(3, text_datum(o.updated_by));
        r.set(4, TimestampTzGetDatum(o.updated_at));
    }
    return r.datum();
}

// file_at(project_id uuid, path text) RETURNS uuid: the live file whose path has
// the same key under the project's options, NULL when there is none.
CE_FUNCTION(ce_file_at) {
    pg_uuid_t project = uuid_required(fcinfo, 0, "project_id");
    TextArg path = text_arg(fcinfo, 1, "path", ce::kMaxPathBytes);
    ApiCall call;
    call.require(project, Right::read);
    std::string key = path_key(path.view(), project_path_options_read(call.spi(), project));
    static Statement q(
        "SELECT f.id FROM concurrent_edit.files f "
        "WHERE f.project_id = $1 AND f.normalized_path = $2 AND f.deleted_at IS NULL",
        {UUIDOID, TEXTOID});
    pg_uuid_t id{};
    bool found = false;
    {
        Rows r = q.run(call.spi(), {uuid_datum(project), text_datum(key)}, {}, true);
        if (!r.empty()) {
            found = true;
            id = r.uuid(0, 0);
        }
    }
    call.finish();
    if (!found) PG_RETURN_NULL();
    return uuid_datum(id);
}
