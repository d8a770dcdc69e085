// write() (src/sql/35_write.sql, docs/reference/write.md). The life of a write is
// traced step by step in docs/architecture.md.
//
// A write locks the file (lock_file: wait-die lock, then the row FOR NO KEY
// UPDATE), so writers of one file serialize; it checks the caller's right, reads
// the head under that lock, decides by comparing the base it was given with the
// head, and writes at most one new version. Nothing is written for a conflict:
// the conflict is recorded in conflict_history and returned.
#include "pg/write.hpp"

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/merge.hpp"
#include "pg/hash.hpp"
#include "concurrent_edit/vclock.hpp"
#include "pg/conflicts.hpp"
#include "pg/file_head.hpp"
#include "pg/guc.hpp"
#include "pg/results.hpp"
#include "pg/sessions.hpp"
#include "pg/vclock.hpp"
#include "pg/versions.hpp"

namespace ce::pg {

const char* strategy_name(Strategy s) {
    switch (s) {
        case Strategy::merge: return "merge";
        case Strategy::fail_fast: return "fail-fast";
        case Strategy::last_write_wins: return "last-write-wins";
        case Strategy::first_write_wins: return "first-write-wins";
        case Strategy::keep_both: return "keep-both";
        case Strategy::timestamp: return "timestamp";
        case Strategy::queue: return "queue";
    }
    return "merge";
}

Strategy parse_strategy(std::string_view s) {
    for (Strategy st : {Strategy::merge, Strategy::fail_fast, Strategy::last_write_wins, Strategy::first_write_wins,
                        Strategy::keep_both, Strategy::timestamp, Strategy::queue})
        if (s == strategy_name(st)) return st;
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "unknown write strategy \"" + ce::excerpt(s) + "\"",
                   ce::Detail().add("argument", "strategy").add("value", s), "Valid strategies: merge, fail-fast, last-write-wins, first-write-wins, keep-both, "
                       "timestamp, queue.");
}

namespace {

std::string regions_json(const std::vector<ce::ConflictRegion>& regions) {
    std::string s = "[";
    for (std::size_t i = 0; i < regions.size(); ++i) {
        const auto& r = regions[i];
        if (i) s += ", ";
        s += "{\"base_start\": " + std::to_string(r.base_start) + ", \"base_count\": " + std::to_string(r.base_count) +
             ", \"ours_start\": " + std::to_string(r.ours_start) + ", \"ours_count\": " + std::to_string(r.ours_count) +
             ", \"theirs_start\": " + std::to_string(r.theirs_start) +
             ", \"theirs_count\": " + std::to_string(r.theirs_count) + "}";
    }
    return s + "]";
}

}  // namespace

namespace {
// The actor a version is counted for: the session, else the author.
pg_uuid_t session_id_or(const pg_uuid_t& author, const pg_uuid_t& session_id) {
    return uuid_is_null(session_id) ? author : session_id;
}
}  // namespace

WriteOutcome write_file(ApiCall& call, const WriteRequest& req) {
    Spi& spi = call.spi();
    FileHead h = lock_file(spi, req.file_id, req.session.null ? pg_uuid_t{} : req.session.value);
    call.require(h.project_id, Right::write);
    pg_uuid_t author = resolve_author(call, req.author, req.session, h.project_id);
    pg_uuid_t session_id = req.session.null ? pg_uuid_t{} : req.session.value;
    const char* sname = strategy_name(req.strategy);

    WriteOutcome out;
    out.file_id = h.id;
    out.head_version = h.head_version;
    out.strategy = sname;
    out.vector_clock = h.head_clock;  // replaced when a version is written

    if (h.deleted) {
        if (req.strategy == Strategy::fail_fast)
            throw SqlError(CE_ERRCODE_FILE_DELETED, "file " + uuid_to_string(h.id) + " was deleted",
                           head_detail(h, req.base_version, req.expected_hash));
        int32 base = req.base_version.value_or(h.head_version);
        if (base < 1 || base > h.head_version) base = h.head_version;
        std::string details =
            "{\"reason\": \"the file was deleted\", \"head_version\": " + std::to_string(h.head_version) + "}";
        out.status = "conflict";
        out.conflict_id =
            record_conflict(spi, call.caller(), h, "delete", base, req.content, sname, details, author, session_id);
        out.has_conflict_id = true;
        out.version = h.head_version;
        out.content = std::string(req.content);
        out.content_hash = content_hash(req.content);
        out.conflicts = 1;
        out.base_version = base;
        return out;
    }

    if (h.locked_by_other) throw_file_locked(h, "Wait for the lock to be released or to expire.");

    // A client clock must come from the file's history (docs/reference/vclock.md):
    // a crafted one is refused before it is used, and never reaches the head clock.
    if (req.client_clock)
        ce::check_client_clock(ce::VClock::parse(*req.client_clock),
                               ce::VClock::parse(h.head_clock.empty() ? "{}" : h.head_clock),
                               uuid_to_string(session_id_or(author, session_id)),
                               static_cast<std::uint64_t>(guc_max_clock_ahead));

    // Which version is the base?
    std::optional<int32> base = req.base_version;
    if (base && (*base < 1 || *base > h.head_version))
        throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                       "base version " + std::to_string(*base) + " of file " + uuid_to_string(h.id) + " does not exist",
                       head_detail(h, req.base_version, req.expected_hash));
    if (req.expected_hash && !is_content_hash(*req.expected_hash))
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "expected_hash is not a SHA-256 hex digest",
                       "{\"argument\": \"expected_hash\"}",
                       "Use the content_hash returned by read() or write(): 64 lowercase hex digits.");
    bool current;
    if (req.expected_hash) {
        current = *req.expected_hash == h.head_hash && (!base || *base == h.head_version);
        if (!current && !base) base = version_with_hash(spi, h, *req.expected_hash);
    } else if (base) {
        current = *base == h.head_version;
    } else {
        // Only the client's clock: a clock that dominates the head's fast-forwards;
        // otherwise the base is the newest version the client's clock dominates.
        ce::Relation rel = ce::compare(ce::VClock::parse(*req.client_clock),
                                       ce::VClock::parse(h.head_clock.empty() ? "{}" : h.head_clock));
        current = ce::dominates(rel);
        if (!current) base = version_dominated_by(spi, h, *req.client_clock);
        if (!current && !base)
            throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                           "no version of file " + uuid_to_string(h.id) + " precedes the client's clock",
                           head_detail(h, std::nullopt, std::nullopt),
                           "Pass the vector_clock of the version the edit started from (read() returns it).");
    }
    const std::string* client_clock = req.client_clock ? &*req.client_clock : nullptr;

    std::string new_hash = content_hash(req.content);
    out.base_version = base.value_or(0);

    // The proposed text becomes the head as it is ("unchanged" when it already is).
    auto store_as_is = [&](const char* status) {
        if (new_hash == h.head_hash) {
            out.status = "unchanged";
            out.version = h.head_version;
        } else {
            out.status = status;
            out.version =
                append_version(spi, h, req.content, new_hash, author, session_id, client_clock, &out.vector_clock);
        }
        out.content = std::string(req.content);
        out.content_hash = new_hash;
    };

    if (current) {
        out.base_version = h.head_version;
        store_as_is("written");
        return out;
    }

    // Stale.
    if (req.strategy == Strategy::fail_fast)
        throw SqlError(CE_ERRCODE_STALE_VERSION, "file " + uuid_to_string(h.id) + " was modified by another writer",
                       head_detail(h, req.base_version, req.expected_hash),
                       "Read the head version, reapply your change, and write again.");

    if (req.strategy == Strategy::first_write_wins) {
        auto head = fetch_version(spi, h.project_id, h.id, h.head_version);
        out.status = "rejected";
        out.version = h.head_version;
        out.content = head ? head->content : std::string();
        out.content_hash = h.head_hash;
        return out;
    }

    if (req.strategy == Strategy::last_write_wins) {
        store_as_is("overwritten");
        return out;
    }

    if (!base)
        throw SqlError(CE_ERRCODE_STALE_VERSION,
                       "expected_hash of file " + uuid_to_string(h.id) + " matches none of its versions",
                       head_detail(h, req.base_version, req.expected_hash),
                       "Without a known base the change cannot be merged: read the head, reapply your change, "
                       "and write again (or use strategy last-write-wins).");

    auto base_text = fetch_version(spi, h.project_id, h.id, *base);
    auto head_text = fetch_version(spi, h.project_id, h.id, h.head_version);
    if (!base_text)
        throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                       "base version " + std::to_string(*base) + " of file " + uuid_to_string(h.id) +
                           " is no longer in the history",
                       head_detail(h, req.base_version, req.expected_hash),
                       "History cleanup removed it; read the head and write again.");
    if (!head_text) throw SqlError(CE_ERRCODE_INTERNAL, "head version of file " + uuid_to_string(h.id) + " is missing",
                                       ce::Detail().add("file_id", uuid_to_string(h.id)));

    ce::MergeOptions opts;
    opts.ours_label = "version " + std::to_string(h.head_version);
    opts.base_label = "version " + std::to_string(*base);
    opts.theirs_label = "proposed";
    opts.style = conflict_style();
    opts.algorithm = diff_algorithm();
    switch (req.strategy) {
        case Strategy::keep_both: opts.favor = ce::MergeFavor::union_; break;
        case Strategy::queue: opts.favor = ce::MergeFavor::theirs; break;
        case Strategy::timestamp:
            // Conflicting hunks go to the newer side: the head's last change or the
            // client's edit (edited_at, default now).
            opts.favor = (!req.edited_at || *req.edited_at > h.updated_at) ? ce::MergeFavor::theirs : ce::MergeFavor::ours;
            break;
        default: break;
    }
    ce::MergeResult m = [&] {
        ce::memory::Budget budget = merge_budget();
        return ce::merge3(base_text->content, head_text->content, req.content, opts);
    }();

    if (!m.clean) {
        std::string details = "{\"conflicts\": " + std::to_string(m.conflicts) + ", \"regions\": " +
                              regions_json(m.regions) + ", \"labels\": {\"ours\": \"" + opts.ours_label +
                              "\", \"base\": \"" + opts.base_label + "\", \"theirs\": \"proposed\"}, \"proposed_hash\": \"" +
                              new_hash + "\"}";
        out.status = "conflict";
        out.conflict_id =
            record_conflict(spi, call.caller(), h, "content", *base, req.content, sname, details, author, session_id);
        out.has_conflict_id = true;
        out.version = h.head_version;
        out.conflicts = m.conflicts;
        out.content = std::move(m.content);
        out.content_hash = content_hash(out.content);
        return out;
    }
    out.conflicts = m.favored;  // conflicting regions the strategy resolved (keep-both, timestamp, queue)
    std::string merged_hash = content_hash(m.content);
    if (merged_hash == h.head_hash) {
        out.status = "unchanged";
        out.version = h.head_version;
    } else {
        out.status = "merged";
        out.version = append_version(spi, h, m.content, merged_hash, author, session_id, client_clock, &out.vector_clock);
    }
    out.content = std::move(m.content);
    out.content_hash = merged_hash;
    return out;
}

Datum write_result_datum(FunctionCallInfo fcinfo, const WriteOutcome& o) {
    Record r(fcinfo);
    r.set(0, text_datum(o.status));
    r.set(1, Int32GetDatum(o.version));
    r.set(2, text_datum(o.content_hash));
    r.set(3, text_datum(o.content));
    if (o.has_conflict_id) r.set(4, uuid_datum(o.conflict_id));
    r.set(5, Int32GetDatum(o.conflicts));
    r.set(6, uuid_datum(o.file_id));
    if (o.base_version > 0) r.set(7, Int32GetDatum(o.base_version));
    r.set(8, Int32GetDatum(o.head_version));
    r.set(9, text_datum(o.strategy));
    if (!o.vector_clock.empty()) r.set(10, vclock_datum(ce::VClock::parse(o.vector_clock).encode()));
    return r.datum();
}

}  // namespace ce::pg

using namespace ce::pg;

// write(file_id, content, base_version, author, session_id, strategy, expected_hash, edited_at, client_clock)
CE_FUNCTION(ce_write) {
    WriteRequest req;
    req.file_id = uuid_required(fcinfo, 0, "file_id");
    TextArg content = text_arg(fcinfo, 1, "content", max_input_bytes());
    req.content = content.view();
    req.base_version = int4_opt(fcinfo, 2);
    req.author = uuid_arg(fcinfo, 3);
    req.session = uuid_arg(fcinfo, 4);
    req.strategy = parse_strategy(text_arg(fcinfo, 5, "strategy", 64).view());
    TextArg expected_hash = text_arg(fcinfo, 6, "expected_hash", 256, true);
    if (!expected_hash.isnull) req.expected_hash = expected_hash.str();
    req.edited_at = timestamptz_opt(fcinfo, 7);
    if (PG_NARGS() > 8 && !PG_ARGISNULL(8)) {
        Datum d = PG_GETARG_DATUM(8);
        auto* v = pg_call([d] { return PG_DETOAST_DATUM_PACKED(d); });
        req.client_clock = ce::VClock::decode(std::string_view(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v))).to_text();
    }
    if (!req.base_version && !req.expected_hash && !req.client_clock)
        throw SqlError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "base_version, expected_hash or client_clock is required",
                       ce::Detail().add("argument", "base_version"),
                       "Pass the version (or the content_hash, or the vector clock) your edit started from.");
    ApiCall call;
    WriteOutcome o = write_file(call, req);
    call.finish();
    return write_result_datum(fcinfo, o);
}
