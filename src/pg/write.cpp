// write() (src/sql/35_write.sql, docs/reference/write.md). The life of a write is
// traced step by step in docs/architecture.md.
//
// A write locks the file (lock_file: wait-die lock, then the row FOR NO KEY
// UPDATE), so writers of one file serialize; it checks the caller's right, reads
// the head under that lock, decides by comparing the base it was given with the
// head, and writes at most one new version. Nothing is written for a conflict:
// the conflict is recorded in conflict_history and returned.
#include "pg/write.hpp"

#include <algorithm>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/json.hpp"
#include "concurrent_edit/merge.hpp"
#include "concurrent_edit/vclock.hpp"
#include "pg/conflicts.hpp"
#include "pg/file_head.hpp"
#include "pg/guc.hpp"
#include "pg/hash.hpp"
#include "pg/json_jsonb.hpp"
#include "pg/results.hpp"
#include "pg/semantic.hpp"
#include "pg/sessions.hpp"
#include "pg/stats.hpp"
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

// The line ranges of conflict regions, as conflict_history.details stores them.
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

FileHead lock_file_checked(ApiCall& call, const pg_uuid_t& file, const pg_uuid_t& session, Right needed,
                           bool with_head_text) {
    pg_uuid_t project = project_of_file(call.spi(), file);
    call.require(project, needed);
    FileHead h = lock_file(call.spi(), file, session, with_head_text);
    if (!uuid_eq(h.project_id, project)) call.require(h.project_id, needed);
    return h;
}

WriteOutcome write_file(ApiCall& call, const WriteRequest& req) {
    Spi& spi = call.spi();
    FileHead h = lock_file_checked(call, req.file_id, req.session.null ? pg_uuid_t{} : req.session.value,
                                   Right::write, true);
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
        std::string details = "{\"reason\": \"the file was deleted\", \"head_version\": " +
                              std::to_string(h.head_version) + ", \"base_version\": " + std::to_string(base) + "}";
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

    // A client clock must come from the file's history (docs/reference/write.md):
    // a crafted one is refused before it is used, and never reaches the head clock.
    // Only a session's node may count edits made offline: the author's node is
    // shared by all of the author's devices, so a count there could equal or pass
    // another device's write the client never saw, and fast-forward over it.
    if (req.client_clock) {
        try {
            ce::check_client_clock(ce::VClock::parse(*req.client_clock),
                                   ce::VClock::parse(h.head_clock.empty() ? "{}" : h.head_clock),
                                   uuid_is_null(session_id) ? std::string() : uuid_to_string(session_id),
                                   static_cast<std::uint64_t>(guc_max_clock_ahead));
        } catch (const ce::Error& e) {
            // write_many names the element, as it does for its other fields.
            const std::string& d = e.detail();
            if (req.element == 0 || d.size() < 2 || d.front() != '{') throw;
            throw ce::Error(e.code(), e.what(),
                            "{\"element\": " + std::to_string(req.element) + (d.size() > 2 ? ", " : "") + d.substr(1),
                            e.hint());
        }
    }

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
        if (!current)
            base = base_of_clock(spi, h, *req.client_clock, uuid_is_null(session_id) ? "" : uuid_to_string(session_id));
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
        auto head = fetch_version(h.project_id, h.id, h.head_version);
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

    auto base_text = fetch_version(h.project_id, h.id, *base);
    auto head_text = fetch_version(h.project_id, h.id, h.head_version);
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
        stats::MergeTimer timer;
        return ce::merge3(base_text->content, head_text->content, req.content, opts);
    }();

    if (!m.clean) {
        stats::add(stats::merge_conflicts);
        std::string details = "{\"conflicts\": " + std::to_string(m.conflicts) + ", \"regions\": " +
                              regions_json(m.regions) + ", \"labels\": {\"ours\": \"" + opts.ours_label +
                              "\", \"base\": \"" + opts.base_label + "\", \"theirs\": \"proposed\"}, \"proposed_hash\": \"" +
                              new_hash + "\"}";
        pg_uuid_t id =
            record_conflict(spi, call.caller(), h, "content", *base, req.content, sname, details, author, session_id);
        conflict_outcome(out, h, std::move(m), id);
        return out;
    }
    out.conflicts = m.favored;  // conflicting regions the strategy resolved (keep-both, timestamp, queue)
    out.semantic_warnings = semantic_warnings_json(h.path, base_text->content, head_text->content, req.content, m);
    std::string merged_hash = content_hash(m.content);
    if (merged_hash == h.head_hash) {
        out.status = "unchanged";
        out.version = h.head_version;
    } else {
        out.status = "merged";
        out.version = append_version(spi, h, m.content, merged_hash, author, session_id, client_clock, &out.vector_clock,
                                     &head_text->content);
    }
    out.content = std::move(m.content);
    out.content_hash = merged_hash;
    return out;
}

void conflict_outcome(WriteOutcome& out, const FileHead& h, ce::MergeResult&& m, const pg_uuid_t& conflict_id) {
    out.status = "conflict";
    out.conflict_id = conflict_id;
    out.has_conflict_id = true;
    out.version = h.head_version;
    out.conflicts = m.conflicts;
    out.regions = std::move(m.regions);
    out.content = std::move(m.content);
    out.content_hash = content_hash(out.content);
}

FileHead lock_for_change(ApiCall& call, const pg_uuid_t& file, const UuidArg& author, const UuidArg& session,
                         const char* verb, pg_uuid_t* who) {
    FileHead h = lock_file_checked(call, file, session.null ? pg_uuid_t{} : session.value, Right::write);
    *who = resolve_author(call, author, session, h.project_id);
    if (h.deleted)
        throw SqlError(CE_ERRCODE_FILE_DELETED, "file " + uuid_to_string(h.id) + " was deleted",
                       head_detail(h, std::nullopt, std::nullopt), std::string("A deleted file cannot be ") + verb + ".");
    if (h.locked_by_other) throw_file_locked(h);
    return h;
}

void write_result_values(const WriteOutcome& o, std::vector<Datum>& values, std::vector<char>& nulls) {
    values.assign(12, Datum(0));
    nulls.assign(12, false);
    values[0] = text_datum(o.status);
    values[1] = Int32GetDatum(o.version);
    values[2] = text_datum(o.content_hash);
    values[3] = text_datum(o.content);
    if (o.has_conflict_id) values[4] = uuid_datum(o.conflict_id);
    else nulls[4] = true;
    values[5] = Int32GetDatum(o.conflicts);
    values[6] = uuid_datum(o.file_id);
    if (o.base_version > 0) values[7] = Int32GetDatum(o.base_version);
    else nulls[7] = true;
    values[8] = Int32GetDatum(o.head_version);
    values[9] = text_datum(o.strategy);
    if (!o.vector_clock.empty()) values[10] = vclock_datum(ce::VClock::parse(o.vector_clock).encode());
    else nulls[10] = true;
    values[11] = utf8_json_datum(o.semantic_warnings);
}

namespace {
void set_columns(Record& r, const std::vector<Datum>& values, const std::vector<char>& nulls) {
    for (int i = 0; i < static_cast<int>(values.size()); ++i) {
        if (nulls[i]) r.set_null(i);
        else r.set(i, values[i]);
    }
}
}  // namespace

Datum write_result_datum(FunctionCallInfo fcinfo, const WriteOutcome& o) {
    Record r(fcinfo);
    std::vector<Datum> values;
    std::vector<char> nulls;
    write_result_values(o, values, nulls);
    set_columns(r, values, nulls);
    return r.datum();
}

}  // namespace ce::pg

using namespace ce::pg;

namespace {

// The arguments of write() and preview_write(); `content` keeps the text req points to.
WriteRequest write_request(FunctionCallInfo fcinfo, TextArg& content) {
    WriteRequest req;
    req.file_id = uuid_required(fcinfo, 0, "file_id");
    content = text_arg(fcinfo, 1, "content", max_input_bytes());
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
    return req;
}

}  // namespace

// write(file_id, content, base_version, author, session_id, strategy, expected_hash, edited_at, client_clock)
CE_PRIMARY_FUNCTION(ce_write, "write") {
    stats::WriteCall counted;
    TextArg content;
    WriteRequest req = write_request(fcinfo, content);
    ApiCall call;
    WriteOutcome o = write_file(call, req);
    call.finish();
    counted.done(o.status);
    return write_result_datum(fcinfo, o);
}

// preview_write(the arguments of write) RETURNS preview_result: write_result's first 11
// columns, hunks jsonb, semantic_warnings jsonb; the whole write in a subtransaction
// that is always rolled back.
CE_FUNCTION(ce_preview_write) {
    TextArg content;
    WriteRequest req = write_request(fcinfo, content);
    ApiCall call;
    WriteOutcome o;
    stats::Suspend not_counted;  // nothing of a preview is kept
    rolled_back_subtransaction([&] { o = write_file(call, req); });
    call.finish();
    o.has_conflict_id = false;  // nothing was recorded
    Record r(fcinfo);
    std::vector<Datum> values;
    std::vector<char> nulls;
    write_result_values(o, values, nulls);
    values.insert(values.begin() + 11, hunks_jsonb(o.regions));
    nulls.insert(nulls.begin() + 11, false);
    set_columns(r, values, nulls);
    return r.datum();
}

namespace {

// A uuid in its canonical text form only (8-4-4-4-12 hex digits, either case):
// the forms uuid_from_text reads, with the hyphens where uuid_out puts them.
bool parse_uuid(const std::string& s, pg_uuid_t& out) {
    return s.size() == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' && uuid_from_text(s, &out);
}

struct ManyItem {
    WriteRequest req;
    std::string content;  // req.content points here
};

// The elements of write_many(writes): {file_id, content, base_version | expected_hash |
// client_clock, author?, session_id?}.
std::vector<ManyItem> many_items(const ce::json::Value& v, Strategy strategy) {
    auto bad = [](std::size_t i, const std::string& why) {
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "writes: element " + std::to_string(i + 1) + " " + why,
                       ce::Detail().add("argument", "writes").add("element", i + 1),
                       "Each element is {\"file_id\": uuid, \"content\": text, and \"base_version\", \"expected_hash\" "
                       "or \"client_clock\"}, and \"author\" or \"session_id\" (or both).");
    };
    if (!v.is_array())
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "writes must be a JSON array",
                       ce::Detail().add("argument", "writes").add("type", ce::json::kind_name(v.kind())));
    std::vector<ManyItem> items(v.items().size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        const ce::json::Value& e = v.items()[i];
        if (!e.is_object()) bad(i, "is not a JSON object");
        ManyItem& it = items[i];
        WriteRequest& req = it.req;
        req.element = static_cast<int>(i + 1);
        auto uuid_field = [&](const char* key, bool required, pg_uuid_t& out) {
            const ce::json::Value* f = e.find(key);
            if (f == nullptr || f->is_null()) {
                if (required) bad(i, std::string("needs \"") + key + "\"");
                return false;
            }
            if (!f->is_string() || !parse_uuid(f->text(), out)) bad(i, std::string("has an invalid \"") + key + "\"");
            return true;
        };
        uuid_field("file_id", true, req.file_id);
        req.author.null = !uuid_field("author", false, req.author.value);
        req.session.null = !uuid_field("session_id", false, req.session.value);
        const ce::json::Value* content = e.find("content");
        if (content == nullptr || !content->is_string()) bad(i, "needs \"content\" (a string)");
        it.content = content->text();
        if (const ce::json::Value* b = e.find("base_version"); b != nullptr && !b->is_null()) {
            std::optional<std::uint64_t> n = b->is_number() ? non_negative_integer(b->text()) : std::nullopt;
            if (!n || *n < 1 || *n > PG_INT32_MAX) bad(i, "has an invalid \"base_version\"");
            req.base_version = static_cast<int32>(*n);
        }
        if (const ce::json::Value* h = e.find("expected_hash"); h != nullptr && !h->is_null()) {
            // Checked here, naming the element, as write() checks its argument.
            if (!h->is_string() || !is_content_hash(h->text())) bad(i, "has an invalid \"expected_hash\"");
            req.expected_hash = h->text();
        }
        if (const ce::json::Value* c = e.find("client_clock"); c != nullptr && !c->is_null()) {
            // 22023 naming the element, as for its other fields (not the clock's own
            // 22P02 / 22003 without the element).
            // The clock as a JSON object, or its text in a string (as a write_result's
            // vector_clock reads in JSON), as order_operations takes it.
            if (!c->is_object() && !c->is_string()) bad(i, "has an invalid \"client_clock\"");
            try {
                req.client_clock = ce::VClock::parse(c->is_string() ? std::string(c->text()) : ce::json::to_string(*c))
                                       .to_text();
            } catch (const ce::Error& err) {
                ce::Errc c = err.code();
                if (c != ce::Errc::invalid_text && c != ce::Errc::invalid_parameter && c != ce::Errc::out_of_range &&
                    c != ce::Errc::duplicate_key)
                    throw;
                bad(i, "has an invalid \"client_clock\"");
            }
        }
        if (!req.base_version && !req.expected_hash && !req.client_clock)
            bad(i, "needs \"base_version\", \"expected_hash\" or \"client_clock\"");
        if (req.author.null && req.session.null) bad(i, "needs \"author\" or \"session_id\"");
        req.strategy = strategy;
    }
    for (ManyItem& it : items) it.req.content = it.content;
    return items;
}

// The heap bytes write_many keeps of an outcome until its row is made: the hunks
// and semantic warnings it returns.
std::size_t kept_bytes(const WriteOutcome& o) {
    std::size_t n = ce::memory::vector_bytes(o.regions.capacity(), sizeof(ce::ConflictRegion)) +
                    ce::memory::string_bytes(o.semantic_warnings.capacity());
    for (const ce::ConflictRegion& r : o.regions)
        n += ce::memory::string_bytes(r.base.capacity()) + ce::memory::string_bytes(r.ours.capacity()) +
             ce::memory::string_bytes(r.theirs.capacity());
    return n;
}

}  // namespace

// write_many(writes jsonb, strategy text DEFAULT 'merge', all_or_nothing boolean DEFAULT true)
//   RETURNS TABLE (file_id, status, version, content_hash, conflict_id, conflicts, base_version,
//                  head_version, vector_clock, stored, hunks, semantic_warnings)
CE_PRIMARY_FUNCTION(ce_write_many, "write_many") {
    stats::WriteCall counted;  // a call that raises counts as one failed write
    Jsonb* writes = jsonb_arg(fcinfo, 0, "writes", max_input_bytes());
    // NULL is refused (22004), as by write(): it is not the default.
    Strategy strategy = parse_strategy(text_arg(fcinfo, 1, "strategy", 64).view());
    bool all_or_nothing = bool_arg(fcinfo, 2, true);
    std::vector<ManyItem> items = [&] {
        // The JSON read under concurrent_edit.max_merge_memory: a number such as
        // 1e131071 takes 10 bytes in jsonb and 131,072 characters as text.
        ce::memory::Budget budget = merge_budget();
        return many_items(jsonb_to_value(writes, "writes"), strategy);
    }();
    ApiCall call;
    // Every file locked first, in file id order: two calls on overlapping sets in any
    // order wait for each other instead of deadlocking (and wait-die still applies).
    std::vector<pg_uuid_t> order;
    for (const ManyItem& it : items) order.push_back(it.req.file_id);
    std::sort(order.begin(), order.end(), [](const pg_uuid_t& a, const pg_uuid_t& b) { return uuid_less(a, b); });
    // Elements per file, bounded (concurrent_edit.max_writes_per_file): each one
    // updates the file's row again, and finds it through every earlier update of
    // the call (20,000 elements of one file took 36 s, the file locked throughout).
    for (std::size_t i = 0, run = 1; i < order.size(); ++i, ++run) {
        if (i + 1 < order.size() && uuid_eq(order[i], order[i + 1])) continue;
        if (run > static_cast<std::size_t>(guc_max_writes_per_file))
            throw SqlError(ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                           "writes: " + std::to_string(run) + " elements write file " + uuid_to_string(order[i]) +
                               ", more than concurrent_edit.max_writes_per_file",
                           ce::Detail()
                               .add("argument", "writes")
                               .add("file_id", uuid_to_string(order[i]))
                               .add("elements", run)
                               .add("limit", guc_max_writes_per_file),
                           "Write the file's final text once, or split the writes over several calls.");
        run = 0;
    }
    order.erase(std::unique(order.begin(), order.end(), [](const pg_uuid_t& a, const pg_uuid_t& b) { return uuid_eq(a, b); }),
                order.end());
    for (const pg_uuid_t& f : order) {
        (void)lock_file_checked(call, f, pg_uuid_t{}, Right::write);
    }
    std::vector<WriteOutcome> out(items.size());
    // What is kept of each write until the rows are made (its hunks and semantic
    // warnings) counts against concurrent_edit.max_merge_memory, with the merges
    // themselves; the text a write returns, which write_many does not, is dropped
    // at once. Before, every outcome kept it (the head's text for a rejected write,
    // the text with markers for a conflict): 100 stale writes of a 4 MB file took
    // 800 MB under a 16 MB setting.
    ce::memory::Budget budget = merge_budget();
    ce::memory::Charge kept;
    auto run_all = [&] {
        bool ok = true;
        for (std::size_t i = 0; i < items.size(); ++i) {
            // Each write on an SPI connection of its own, finished after it: what it
            // allocated there (the new version's text, the rows it read) is freed
            // with it, not kept to the end of the call. Its statements run on this
            // connection, the innermost. (Every merged element of a 2 MB file kept
            // about 3 MB: 741 MB for 300 elements under a 16 MB max_merge_memory.)
            // An error leaves it to the subtransaction's or transaction's abort.
            Spi item;
            out[i] = write_file(call, items[i].req);
            item.finish();
            std::string().swap(out[i].content);
            kept.resize(kept.bytes() + kept_bytes(out[i]));
            if (out[i].status == "conflict" || out[i].status == "rejected") ok = false;
        }
        return ok;
    };
    bool stored = true;
    if (all_or_nothing) stored = subtransaction_if(run_all);
    else run_all();
    call.finish();
    for (const WriteOutcome& o : out) stats::count_write(o.status);
    counted.done();
    SetResult result(fcinfo);
    for (WriteOutcome& o : out) {
        std::vector<char> nulls(12, false);
        if (!stored) o.has_conflict_id = false;  // rolled back with everything else
        nulls[4] = !o.has_conflict_id;
        nulls[6] = o.base_version <= 0;
        nulls[8] = o.vector_clock.empty() || !stored;
        result.add({uuid_datum(o.file_id), text_datum(o.status), Int32GetDatum(o.version), text_datum(o.content_hash),
                    o.has_conflict_id ? uuid_datum(o.conflict_id) : Datum(0), Int32GetDatum(o.conflicts),
                    Int32GetDatum(o.base_version), Int32GetDatum(o.head_version),
                    nulls[8] ? Datum(0) : vclock_datum(ce::VClock::parse(o.vector_clock).encode()), BoolGetDatum(stored),
                    hunks_jsonb(o.regions), utf8_json_datum(o.semantic_warnings)},
                   nulls);
    }
    return result.done();
}
