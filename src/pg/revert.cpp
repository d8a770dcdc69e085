// Revert (src/sql/38_revert.sql, docs/reference/revert.md): the reverse of one
// version's change applied on top of the head by a three-way merge, as git revert
// does: merge3(base = the version, ours = the head, theirs = the version before it).
// A conflict is recorded like a write's (base = the reverted version, theirs = the
// version before it).
#include <string>
#include <vector>

#include "concurrent_edit/merge.hpp"
#include "pg/conflicts.hpp"
#include "pg/guc.hpp"
#include "pg/hash.hpp"
#include "pg/results.hpp"
#include "pg/semantic.hpp"
#include "pg/versions.hpp"
#include "pg/write.hpp"

namespace ce::pg {
namespace {

// Reverts `version` of the locked file; `h` is its head row. `caller`: the
// calling role (the conflict's creator).
WriteOutcome revert_one(Spi& spi, Oid caller, const FileHead& h, int32 version, const pg_uuid_t& author,
                        const pg_uuid_t& session_id) {
    WriteOutcome out;
    out.file_id = h.id;
    out.base_version = version;
    out.head_version = h.head_version;
    out.strategy = "merge";
    auto missing = [&](int32 v) {
        throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                       "version " + std::to_string(v) + " of file " + uuid_to_string(h.id) + " does not exist",
                       ce::Detail().add("file_id", uuid_to_string(h.id)).add("version", v).add("head_version",
                                                                                               h.head_version));
    };
    if (version < 1 || version > h.head_version) missing(version);
    auto changed = fetch_version(h.project_id, h.id, version);
    if (!changed) missing(version);
    std::string before;
    if (version > 1) {
        auto parent = fetch_version(h.project_id, h.id, version - 1);
        if (!parent) {
            // Removed by retention: the change this version made is not known.
            throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                           "version " + std::to_string(version) + " of file " + uuid_to_string(h.id) +
                               " cannot be reverted: version " + std::to_string(version - 1) +
                               ", before it, was removed from the history",
                           ce::Detail()
                               .add("file_id", uuid_to_string(h.id))
                               .add("version", version)
                               .add("missing_version", version - 1)
                               .add("head_version", h.head_version));
        }
        before = std::move(parent->content);
    }
    auto head = fetch_version(h.project_id, h.id, h.head_version);
    if (!head) missing(h.head_version);
    ce::MergeOptions opts;
    opts.ours_label = "version " + std::to_string(h.head_version);
    opts.base_label = "version " + std::to_string(version);
    opts.theirs_label = "before version " + std::to_string(version);
    opts.style = conflict_style();
    opts.algorithm = diff_algorithm();
    ce::MergeResult m = [&] {
        ce::memory::Budget budget = merge_budget();
        return ce::merge3(changed->content, head->content, before, opts);
    }();
    if (!m.clean) {
        std::string details = "{\"revert_of\": " + std::to_string(version) + ", \"conflicts\": " +
                              std::to_string(m.conflicts) + ", \"regions\": " + regions_json(m.regions) + "}";
        pg_uuid_t id = record_conflict(spi, caller, h, "content", version, before, "merge", details, author,
                                       session_id, version > 1 ? std::optional<int32>(version - 1) : std::nullopt);
        conflict_outcome(out, h, std::move(m), id);
        return out;
    }
    out.semantic_warnings = semantic_warnings_json(h.path, changed->content, head->content, before, m);
    out.content_hash = content_hash(m.content);
    if (out.content_hash == h.head_hash) {
        out.status = "unchanged";
        out.version = h.head_version;
    } else {
        out.status = version == h.head_version ? "written" : "merged";
        out.version = append_version(spi, h, m.content, out.content_hash, author, session_id, nullptr, &out.vector_clock,
                                     &head->content);
    }
    out.content = std::move(m.content);
    return out;
}

}  // namespace
}  // namespace ce::pg

using namespace ce::pg;

// revert_version(file_id uuid, version integer, author uuid DEFAULT NULL, session_id uuid DEFAULT NULL)
//   RETURNS write_result
CE_PRIMARY_FUNCTION(ce_revert_version, "revert_version") {
    pg_uuid_t file = uuid_required(fcinfo, 0, "file_id");
    int32 version = int4_arg(fcinfo, 1, "version");
    UuidArg author = uuid_arg(fcinfo, 2);
    UuidArg session = uuid_arg(fcinfo, 3);
    ApiCall call;
    pg_uuid_t who;
    FileHead h = lock_for_change(call, file, author, session, "reverted", &who);
    WriteOutcome o = revert_one(call.spi(), call.caller(), h, version, who, session.null ? pg_uuid_t{} : session.value);
    call.finish();
    return write_result_datum(fcinfo, o);
}

// revert_author(file_id uuid, author uuid, since timestamptz DEFAULT NULL, session_id uuid DEFAULT NULL,
//               reverted_by uuid DEFAULT NULL) RETURNS SETOF write_result
// Every version of the file written by `author` (and, when given, in session_id) since
// `since`, newest first, each reverted as its own version; stops at the first conflict.
CE_PRIMARY_FUNCTION(ce_revert_author, "revert_author") {
    pg_uuid_t file = uuid_required(fcinfo, 0, "file_id");
    pg_uuid_t whose = uuid_required(fcinfo, 1, "author");
    std::optional<int64> since = timestamptz_opt(fcinfo, 2);
    UuidArg of_session = uuid_arg(fcinfo, 3);
    UuidArg reverted_by = uuid_arg(fcinfo, 4);
    ApiCall call;
    pg_uuid_t who;
    FileHead h = lock_for_change(call, file, reverted_by.null ? UuidArg{whose, false} : reverted_by, UuidArg{},
                                 "reverted", &who);
    // With each version, whether the one before it is still in the history (a
    // version whose predecessor retention removed cannot be reverted).
    static Statement q(
        "SELECT v.version, EXISTS (SELECT FROM concurrent_edit.file_versions p WHERE p.project_id = v.project_id "
        "                          AND p.file_id = v.file_id AND p.version = v.version - 1) "
        "FROM concurrent_edit.file_versions v "
        "WHERE v.project_id = $1 AND v.file_id = $2 AND v.created_by = $3 AND v.version > 1 "
        "  AND ($4::timestamptz IS NULL OR v.created_at >= $4) AND ($5::uuid IS NULL OR v.session_id = $5) "
        "ORDER BY v.version DESC",
        {UUIDOID, UUIDOID, UUIDOID, TIMESTAMPTZOID, UUIDOID});
    std::vector<int32> versions;
    std::string unrevertable;  // JSON array of the first kListed of those versions
    int64 unrevertable_count = 0;
    constexpr int64 kListed = 100;  // a message and DETAIL stay short for any history
    {
        std::string nulls = "     ";
        if (!since) nulls[3] = 'n';
        if (of_session.null) nulls[4] = 'n';
        // Not read-only: a read-only query sees the calling statement's snapshot,
        // taken before lock_for_change waited for the file, and missed the versions
        // committed meanwhile (they stayed unreverted, and nothing said so).
        Rows r = q.run(call.spi(),
                       {uuid_datum(h.project_id), uuid_datum(h.id), uuid_datum(whose),
                        TimestampTzGetDatum(since.value_or(0)), uuid_datum(of_session.value)},
                       nulls);
        for (uint64 i = 0; i < r.size(); ++i) {
            versions.push_back(r.int4(i, 0));
            if (!r.boolean(i, 1) && unrevertable_count++ < kListed)
                unrevertable += (unrevertable.empty() ? "" : ", ") + std::to_string(versions.back());
        }
    }
    // All or nothing: refused before any revert, rather than after reverting the
    // newer versions (the call used to fail there, on a version it was not given,
    // and rolled back whatever it had reverted).
    if (!unrevertable.empty())
        throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                       "versions [" + unrevertable + (unrevertable_count > kListed ? ", ..." : "") + "] of file " +
                           uuid_to_string(h.id) + " by author " +
                           uuid_to_string(whose) + " cannot be reverted: the version before each was removed from the history",
                       ce::Detail()
                           .add("file_id", uuid_to_string(h.id))
                           .add("author", uuid_to_string(whose))
                           .add_json("unrevertable_versions", "[" + unrevertable + "]")
                           .add("unrevertable_count", unrevertable_count)
                           .add("head_version", h.head_version),
                       "Pass since (after those versions were made) to revert only the newer ones, or revert them one by "
                       "one with revert_version.");
    // Each revert runs on an SPI connection of its own, finished after it, and its
    // row goes to the result (a tuplestore, on disk beyond work_mem) at once, built
    // in a context reset after it: a call keeps one revert's texts at a time, not
    // every version's (59 reverts of a 1 MB file took 144 MB before, kept to the
    // end of the call; TAP 025_bounded_memory).
    SetResult result(fcinfo);
    std::vector<Datum> values;
    std::vector<char> nulls;
    MemoryContext row = own_context("concurrent_edit revert_author row", false);
    for (int32 v : versions) {
        Spi per_revert;
        FileHead now = lock_file(per_revert, file, pg_uuid_t{});  // the head moves with each revert
        WriteOutcome o = revert_one(per_revert, call.caller(), now, v, who, pg_uuid_t{});
        per_revert.finish();
        MemoryContext caller = pg_call([row] { return MemoryContextSwitchTo(row); });
        write_result_values(o, values, nulls);
        result.add(values, nulls);
        pg_call([row, caller] {
            MemoryContextSwitchTo(caller);
            MemoryContextReset(row);
        });
        if (o.status == "conflict") break;
    }
    drop_context(row);
    call.finish();
    return result.done();
}
