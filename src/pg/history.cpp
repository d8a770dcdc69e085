// History retention (src/sql/22_history.sql, docs/reference/history.md):
// set_retention, prune_history, and the worker's retention round.
#include "pg/history.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "concurrent_edit/delta.hpp"
#include "pg/api.hpp"
#include "pg/results.hpp"
#include "pg/versions.hpp"

namespace ce::pg {

Retention project_retention(Spi& spi, const pg_uuid_t& project_id) {
    static Statement q(
        "SELECT r.keep_versions, r.keep_days FROM concurrent_edit.project_retention r WHERE r.project_id = $1",
        {UUIDOID});
    Rows rows = q.run(spi, {uuid_datum(project_id)}, {}, true);
    Retention r;
    if (rows.empty()) return r;
    if (!rows.isnull(0, 0)) r.keep_versions = rows.int4(0, 0);
    if (!rows.isnull(0, 1)) r.keep_days = rows.int4(0, 1);
    return r;
}

namespace {

struct StoredVersion {
    int32 version = 0;
    int32 base = 0;  // 0: stored in full
    int32 depth = 0;
    bool keep = false;
};

// The file's versions, oldest first, each with whether retention keeps it.
std::vector<StoredVersion> versions_to_keep(Spi& spi, const FileHead& h, const Retention& r) {
    // A client holding version v's clock (or number) got it while v was the head:
    // until the next version was written. So keep_days keeps every version that
    // stopped being the head less than keep_days ago.
    static Statement q(
        "SELECT v.version, v.delta_base, v.depth, "
        "  (v.version = $3 "
        "   OR ($4::integer IS NOT NULL AND v.version > $3 - $4) "
        "   OR ($5::integer IS NOT NULL AND coalesce(lead(v.created_at) OVER (ORDER BY v.version), 'infinity') "
        "                                   > now() - make_interval(days => $5)) "
        "   OR EXISTS (SELECT 1 FROM concurrent_edit.pending_changes p WHERE p.project_id = v.project_id "
        "              AND p.file_id = v.file_id AND p.base_version = v.version) "
        "   OR EXISTS (SELECT 1 FROM concurrent_edit.conflict_history c WHERE c.project_id = v.project_id "
        "              AND c.file_id = v.file_id AND v.version IN (c.base_version, c.ours_version, c.theirs_version))) "
        "FROM concurrent_edit.file_versions v WHERE v.project_id = $1 AND v.file_id = $2 ORDER BY v.version",
        {UUIDOID, UUIDOID, INT4OID, INT4OID, INT4OID});
    std::string nulls = "     ";
    if (!r.keep_versions) nulls[3] = 'n';
    if (!r.keep_days) nulls[4] = 'n';
    Rows rows = q.run(spi,
                      {uuid_datum(h.project_id), uuid_datum(h.id), Int32GetDatum(h.head_version),
                       Int32GetDatum(r.keep_versions.value_or(0)), Int32GetDatum(r.keep_days.value_or(0))},
                      nulls);
    std::vector<StoredVersion> out(rows.size());
    for (uint64 i = 0; i < rows.size(); ++i)
        out[i] = StoredVersion{rows.int4(i, 0), rows.int4(i, 1), rows.int4(i, 2), rows.boolean(i, 3)};
    return out;
}

// Locks the versions to remove (skipping any that a draft being saved has just
// locked as its base) and drops those that a draft committed meanwhile uses.
std::vector<int32> lock_removable(Spi& spi, const FileHead& h, const std::vector<int32>& candidates) {
    static Statement lock(
        "SELECT v.version FROM concurrent_edit.file_versions v "
        "WHERE v.project_id = $1 AND v.file_id = $2 AND v.version = ANY ($3) "
        "ORDER BY v.version FOR UPDATE SKIP LOCKED",
        {UUIDOID, UUIDOID, INT4ARRAYOID});
    static Statement pinned(
        "SELECT DISTINCT p.base_version FROM concurrent_edit.pending_changes p "
        "WHERE p.project_id = $1 AND p.file_id = $2 AND p.base_version = ANY ($3)",
        {UUIDOID, UUIDOID, INT4ARRAYOID});
    std::vector<int32> locked;
    {
        Rows r = lock.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), int4_array_datum(candidates)});
        for (uint64 i = 0; i < r.size(); ++i) locked.push_back(r.int4(i, 0));
    }
    std::set<int32> busy;
    {
        Rows r = pinned.run_latest(spi, {uuid_datum(h.project_id), uuid_datum(h.id), int4_array_datum(locked)});
        for (uint64 i = 0; i < r.size(); ++i) busy.insert(r.int4(i, 0));
    }
    locked.erase(std::remove_if(locked.begin(), locked.end(), [&](int32 v) { return busy.count(v) > 0; }),
                 locked.end());
    return locked;
}

struct NewForm {
    int32 version;
    std::optional<std::string> content;  // in full
    std::string delta;
    int32 base = 0;
    int32 depth = 0;
    bool depth_only = false;  // same delta, new depth
};

}  // namespace

int64 apply_retention(Spi& spi, const FileHead& h, const Retention& r, std::size_t max_removed, bool* more) {
    if (more) *more = false;
    if (!r.any()) return 0;
    std::vector<StoredVersion> all = versions_to_keep(spi, h, r);
    std::vector<int32> candidates;
    for (const auto& v : all)
        if (!v.keep) candidates.push_back(v.version);
    if (candidates.empty()) return 0;
    if (candidates.size() > max_removed) {  // the oldest first; the rest at the next call
        candidates.resize(max_removed);
        if (more) *more = true;
    }
    std::vector<int32> removed = lock_removable(spi, h, candidates);
    if (removed.empty()) return 0;
    std::set<int32> gone(removed.begin(), removed.end());

    // New storage of the versions that stay, oldest first: a delta whose base
    // stays keeps its bytes (its depth may change); one whose base goes is
    // encoded again against a kept version, or stored in full. Every text is
    // rebuilt from the old chains, which stay intact until the updates below.
    std::map<int32, int32> depth;  // version -> depth after retention
    std::vector<NewForm> forms;
    int32 nearest_kept = 0;        // the newest kept version seen so far
    for (const auto& v : all) {
        if (gone.count(v.version)) continue;
        check_interrupts();  // a PgError: the C++ objects above are destroyed
        if (v.base == 0) {
            depth[v.version] = 0;
        } else if (!gone.count(v.base) && depth.count(v.base) && depth[v.base] + 1 <= ce::delta::kMaxDepth) {
            depth[v.version] = depth[v.base] + 1;
            if (depth[v.version] != v.depth) forms.push_back(NewForm{v.version, std::nullopt, {}, v.base, depth[v.version], true});
        } else {
            auto text = fetch_version(h.project_id, h.id, v.version);
            if (!text) throw SqlError(CE_ERRCODE_INTERNAL, "a kept version vanished during retention",
                                      ce::Detail().add("file_id", uuid_to_string(h.id)).add("version", static_cast<long long>(v.version)));
            NewForm f{v.version, std::nullopt, {}, 0, 0, false};
            int32 preferred = static_cast<int32>(ce::delta::preferred_base(v.version));
            for (int32 b : {preferred, nearest_kept}) {
                if (b < 1 || gone.count(b) || !depth.count(b) || depth[b] + 1 > ce::delta::kMaxDepth) continue;
                auto base = fetch_version(h.project_id, h.id, b);
                if (!base) continue;
                std::string d = ce::delta::encode(base->content, text->content);
                if (ce::delta::worth_a_delta(d.size(), text->content.size())) {
                    f.delta = std::move(d);
                    f.base = b;
                    f.depth = depth[b] + 1;
                    break;
                }
            }
            if (f.base == 0) f.content = std::move(text->content);
            depth[v.version] = f.depth;
            forms.push_back(std::move(f));
        }
        nearest_kept = v.version;
    }

    static Statement store(
        "UPDATE concurrent_edit.file_versions SET content = $4, delta = $5, delta_base = $6, depth = $7 "
        "WHERE project_id = $1 AND file_id = $2 AND version = $3",
        {UUIDOID, UUIDOID, INT4OID, TEXTOID, BYTEAOID, INT4OID, INT4OID});
    static Statement set_depth(
        "UPDATE concurrent_edit.file_versions SET depth = $4 WHERE project_id = $1 AND file_id = $2 AND version = $3",
        {UUIDOID, UUIDOID, INT4OID, INT4OID});
    for (const NewForm& f : forms) {
        if (f.depth_only) {
            set_depth.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), Int32GetDatum(f.version),
                                Int32GetDatum(f.depth)});
        } else if (f.content) {
            store.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), Int32GetDatum(f.version), text_datum(*f.content),
                            Datum(0), Datum(0), Int32GetDatum(0)},
                      "    nn ");
        } else {
            store.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), Int32GetDatum(f.version), Datum(0),
                            text_datum(f.delta), Int32GetDatum(f.base), Int32GetDatum(f.depth)},
                      "   n   ");
        }
    }
    Datum arr = int4_array_datum(removed);
    static Statement del(
        "DELETE FROM concurrent_edit.file_versions v WHERE v.project_id = $1 AND v.file_id = $2 AND v.version = ANY ($3) "
        "RETURNING v.version",
        {UUIDOID, UUIDOID, INT4ARRAYOID});
    static Statement dangling(
        "SELECT count(*) FROM concurrent_edit.file_versions d WHERE d.project_id = $1 AND d.file_id = $2 "
        "  AND d.delta_base IN (SELECT unnest($3::integer[]))",
        {UUIDOID, UUIDOID, INT4ARRAYOID});
    uint64 count = del.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), arr}).size();
    if (dangling.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), arr}).int8(0, 0) != 0)
        throw SqlError(CE_ERRCODE_INTERNAL, "retention would leave a delta without its base",
                       ce::Detail().add("file_id", uuid_to_string(h.id)));
    return static_cast<int64>(count);
}

std::vector<pg_uuid_t> retention_candidates(Spi& spi, const pg_uuid_t* after, int batch) {
    static Statement q(
        "SELECT f.id FROM concurrent_edit.files f "
        "JOIN concurrent_edit.project_retention r ON r.project_id = f.project_id "
        "WHERE ($1::uuid IS NULL OR f.id > $1) AND EXISTS ("
        "  SELECT 1 FROM concurrent_edit.file_versions v WHERE v.project_id = f.project_id AND v.file_id = f.id "
        "    AND v.version < f.head_version "
        "    AND (r.keep_versions IS NULL OR v.version <= f.head_version - r.keep_versions) "
        "    AND (r.keep_days IS NULL OR v.created_at < now() - make_interval(days => r.keep_days))) "
        "ORDER BY f.id LIMIT $2",
        {UUIDOID, INT4OID});
    Rows r = q.run(spi, {after ? uuid_datum(*after) : Datum(0), Int32GetDatum(batch)}, after ? "  " : "n ", true);
    std::vector<pg_uuid_t> ids;
    for (uint64 i = 0; i < r.size(); ++i) ids.push_back(r.uuid(i, 0));
    return ids;
}

int64 retain_file(Spi& spi, const pg_uuid_t& id, std::size_t max_removed, bool* more) {
    *more = false;
    // A file being written is skipped (the next round takes it).
    static Statement q("SELECT 1 FROM concurrent_edit.files f WHERE f.id = $1 FOR NO KEY UPDATE SKIP LOCKED",
                       {UUIDOID});
    if (q.run(spi, {uuid_datum(id)}).empty()) return 0;
    FileHead h = find_file(spi, id);
    return apply_retention(spi, h, project_retention(spi, h.project_id), max_removed, more);
}

}  // namespace ce::pg

using namespace ce::pg;

// set_retention(project_id uuid, keep_versions integer DEFAULT NULL, keep_days integer DEFAULT NULL)
//   RETURNS TABLE (project_id uuid, keep_versions integer, keep_days integer)
CE_PRIMARY_FUNCTION(ce_set_retention, "set_retention") {
    pg_uuid_t project = uuid_required(fcinfo, 0, "project_id");
    std::optional<int32> keep_versions = int4_opt(fcinfo, 1);
    std::optional<int32> keep_days = int4_opt(fcinfo, 2);
    if (keep_versions && *keep_versions < 1)
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "keep_versions must be at least 1",
                       ce::Detail().add("argument", "keep_versions").add("value", static_cast<long long>(*keep_versions)),
                       "Pass NULL to keep versions regardless of their number.");
    // project_retention_keep_days_check: a cut-off further back is outside the
    // timestamp range (22008 at every retention round, for every project).
    constexpr int32 kMaxKeepDays = 1000000;
    if (keep_days && (*keep_days < 0 || *keep_days > kMaxKeepDays))
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "keep_days must be between 0 and 1000000",
                       ce::Detail().add("argument", "keep_days").add("value", static_cast<long long>(*keep_days)),
                       "Pass NULL to keep versions regardless of their age.");
    ApiCall call;
    call.require(project, Right::admin);
    static Statement upsert(
        "INSERT INTO concurrent_edit.project_retention AS r (project_id, keep_versions, keep_days, updated_by) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (project_id) DO UPDATE "
        "SET keep_versions = EXCLUDED.keep_versions, keep_days = EXCLUDED.keep_days, updated_at = now(), "
        "    updated_by = EXCLUDED.updated_by",
        {UUIDOID, INT4OID, INT4OID, OIDOID});
    static Statement drop("DELETE FROM concurrent_edit.project_retention r WHERE r.project_id = $1", {UUIDOID});
    if (keep_versions || keep_days)
        upsert.run(call.spi(), {uuid_datum(project), Int32GetDatum(keep_versions.value_or(0)),
                                Int32GetDatum(keep_days.value_or(0)), ObjectIdGetDatum(call.caller())},
                   std::string(" ") + (keep_versions ? " " : "n") + (keep_days ? " " : "n") + " ");
    else
        drop.run(call.spi(), {uuid_datum(project)});
    call.finish();
    SetResult result(fcinfo);
    std::vector<Datum> values{uuid_datum(project), Int32GetDatum(keep_versions.value_or(0)),
                              Int32GetDatum(keep_days.value_or(0))};
    result.add(values, {0, static_cast<char>(!keep_versions), static_cast<char>(!keep_days)});
    return result.done();
}

// prune_history(file_id uuid DEFAULT NULL, keep_versions integer DEFAULT NULL, project_id uuid DEFAULT NULL)
//   RETURNS integer (administrators)
CE_PRIMARY_FUNCTION(ce_prune_history, "prune_history") {
    UuidArg file = uuid_arg(fcinfo, 0);
    std::optional<int32> keep = int4_opt(fcinfo, 1);
    UuidArg project = uuid_arg(fcinfo, 2);
    if (keep && *keep < 1)
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "keep_versions must be at least 1",
                       ce::Detail().add("argument", "keep_versions").add("value", static_cast<long long>(*keep)));
    if (file.null == project.null)
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "prune_history needs exactly one of file_id and project_id",
                       ce::Detail().add("argument", file.null ? "file_id" : "project_id"));
    ApiCall call;
    std::vector<pg_uuid_t> files;
    pg_uuid_t scope = project.value;
    if (!file.null) {
        scope = find_file(call.spi(), file.value).project_id;
        files.push_back(file.value);
    }
    call.require(scope, Right::admin);
    Retention r = project_retention(call.spi(), scope);
    if (keep) r.keep_versions = keep;  // an explicit count replaces the project's
    if (project.null == false) {
        static Statement q("SELECT f.id FROM concurrent_edit.files f WHERE f.project_id = $1 ORDER BY f.id", {UUIDOID});
        Rows rows = q.run(call.spi(), {uuid_datum(scope)}, {}, true);
        for (uint64 i = 0; i < rows.size(); ++i) files.push_back(rows.uuid(i, 0));
    }
    int64 removed = 0;
    for (const pg_uuid_t& id : files) {
        // Each file's statements run on an SPI connection of their own, finished
        // after the file. After every statement SPI makes its connection's memory
        // the current one, so what is allocated between statements (the head's
        // text, a version's text for the statement that stores it again) goes
        // there: on the call's connection a project's worth of texts stayed to the
        // end of the call (about 1 MB a file of 1 MB texts, TAP 025_bounded_memory).
        Spi per_file;
        FileHead h = lock_file(per_file, id, pg_uuid_t{});
        removed += apply_retention(per_file, h, r);
        per_file.finish();
    }
    call.finish();
    return Int32GetDatum(static_cast<int32>(std::min<int64>(removed, INT32_MAX)));
}
