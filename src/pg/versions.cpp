#include "pg/versions.hpp"

#include "concurrent_edit/delta.hpp"
#include "concurrent_edit/error.hpp"
#include "concurrent_edit/vclock.hpp"
#include "pg/feed.hpp"
#include "pg/guc.hpp"
#include "pg/version_rows.hpp"

namespace ce::pg {

namespace {

// The rows needed to rebuild a version (read_chain_c, version_rows.hpp), read
// into a memory context of their own that release() deletes once the text is
// rebuilt: a loop over many versions (retention's) would otherwise keep every
// chain it read (a snapshot's text and its deltas) to the end of the call, where
// the statement this replaces had its result freed by the next statement. The
// statement, a recursive CTE, cost mostly its plan's set-up (6.6 % of a 1 kB
// write's backend time once the version was stored from C).
struct Chain {
    MemoryContext memory;
    const VersionChain* rows;
};

Chain chain_rows(const pg_uuid_t& project_id, const pg_uuid_t& file_id, int32 version) {
    MemoryContext memory = own_context("concurrent_edit version chain", false);
    return Chain{memory, run_in(memory, [&project_id, &file_id, version] {
                     return read_chain_c(project_id, file_id, version);
                 })};
}

// After an error the context goes with the call's.
void release(const Chain& c) { drop_context(c.memory); }

[[noreturn]] void broken_chain(const pg_uuid_t& file_id, int32 version, const std::string& why) {
    throw SqlError(ERRCODE_DATA_CORRUPTED,
                   "version " + std::to_string(version) + " of file " + uuid_to_string(file_id) + " cannot be rebuilt",
                   ce::Detail().add("file_id", uuid_to_string(file_id)).add("version", static_cast<long long>(version))
                       .add("reason", why),
                   "Its stored delta chain is damaged: restore the file's history from a backup.");
}

// Applies the chain (snapshot last) and returns the text of its first row.
std::string rebuild(const VersionChain& c, const pg_uuid_t& file_id, int32 version) {
    const RowText& snapshot = c.links[c.n - 1].content;
    if (snapshot.data == nullptr) broken_chain(file_id, version, "no snapshot at the end of the chain");
    std::string text = row_string(snapshot), next;
    try {
        for (int i = c.n - 1; i-- > 0;) {
            const RowText& d = c.links[i].delta;
            if (d.data == nullptr) broken_chain(file_id, version, "a version of the chain has neither text nor delta");
            ce::delta::apply_into(text, std::string_view(d.data, d.len), next);
            text.swap(next);
        }
    } catch (const ce::Error& e) {
        broken_chain(file_id, version, e.what());
    }
    return text;
}

}  // namespace

std::optional<VersionText> fetch_version(const pg_uuid_t& project_id, const pg_uuid_t& file_id, int32 version,
                                         int32* depth) {
    Chain chain = chain_rows(project_id, file_id, version);
    const VersionChain& c = *chain.rows;
    if (c.n == 0) {
        release(chain);
        return std::nullopt;
    }
    if (depth != nullptr) *depth = static_cast<int32>(c.n - 1);
    VersionText out{rebuild(c, file_id, version), row_string(c.hash)};
    release(chain);
    return out;
}

std::optional<int32> version_with_hash(Spi& spi, const FileHead& h, const std::string& hash) {
    static Statement q(
        "SELECT max(v.version) FROM concurrent_edit.file_versions v "
        "WHERE v.project_id = $1 AND v.file_id = $2 AND v.content_hash = $3",
        {UUIDOID, UUIDOID, TEXTOID});
    Rows r = q.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), text_datum(hash)});
    if (r.isnull(0, 0)) return std::nullopt;
    return r.int4(0, 0);
}

int32 base_of_clock(Spi& spi, const FileHead& h, const std::string& clock, const std::string& actor) {
    // The newest kept version the clock dominates (b) with its clock, and the
    // oldest kept version after b with its clock: b + 1 unless retention
    // removed it.
    static Statement q(
        "SELECT b.version, b.vector_clock::text, n.version, n.vector_clock::text "
        "FROM (SELECT v.version, v.vector_clock FROM concurrent_edit.file_versions v "
        "      WHERE v.project_id = $1 AND v.file_id = $2 "
        "        AND v.vector_clock OPERATOR(concurrent_edit.<=) $3::concurrent_edit.vclock "
        "      ORDER BY v.version DESC LIMIT 1) b "
        "LEFT JOIN LATERAL (SELECT v.version, v.vector_clock FROM concurrent_edit.file_versions v "
        "      WHERE v.project_id = $1 AND v.file_id = $2 AND v.version > b.version "
        "      ORDER BY v.version LIMIT 1) n ON true",
        {UUIDOID, UUIDOID, TEXTOID});
    int32 base;
    bool next_removed;
    std::string base_clock, next_clock;
    {
        Rows r = q.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), text_datum(clock)});
        if (r.size() == 0)
            throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                           "no version of file " + uuid_to_string(h.id) + " precedes the client's clock",
                           head_detail(h, std::nullopt, std::nullopt),
                           "Pass the vector_clock of the version the edit started from (read() returns it).");
        base = r.int4(0, 0);
        base_clock = r.text(0, 1);
        next_removed = !r.isnull(0, 2) && r.int4(0, 2) != base + 1;
        next_clock = r.text_opt(0, 3).value_or("{}");
    }
    if (!next_removed ||
        ce::is_clock_of(ce::VClock::parse(clock), ce::VClock::parse(base_clock), ce::VClock::parse(next_clock), actor))
        return base;
    // The clock comes from a removed version after b (or may): a merge from b
    // would take the changes in between for the client's own, and undo a later
    // version that changed them back. Refused, as base_version => the removed
    // version is.
    std::string d = head_detail(h, std::nullopt, std::nullopt);
    d.pop_back();
    d += ", \"newest_dominated_version\": " + std::to_string(base) +
         ", \"missing_version\": " + std::to_string(base + 1) + "}";
    throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                   "the client's clock of file " + uuid_to_string(h.id) +
                       " comes from a version no longer in the history",
                   d, "History cleanup removed version " + std::to_string(base + 1) + "; read the head and write again.");
}

namespace {

// How a new version is stored: in full, or as a delta from an older version.
struct StoredForm {
    std::string delta;  // empty: in full
    int32 base = 0;
    int32 depth = 0;
};

StoredForm storage_form(Spi& spi, const FileHead& h, int32 version, std::string_view content,
                        const std::string* head_text) {
    int32 preferred = static_cast<int32>(ce::delta::preferred_base(version));
    if (head_text == nullptr && h.head_depth >= 0) head_text = &h.head_text;
    for (int32 b : {preferred, h.head_version}) {
        if (b < 1) continue;
        bool head = b == h.head_version && head_text != nullptr;  // its text at hand
        int32 depth;
        std::string rebuilt;
        if (head && h.head_depth >= 0) {
            depth = h.head_depth + 1;  // read with the file row (lock_file): no chain to fetch
        } else {
            Chain chain = chain_rows(h.project_id, h.id, b);
            const VersionChain& c = *chain.rows;
            bool found = c.n > 0;
            depth = found ? c.depth + 1 : 0;
            if (found && !head && depth <= ce::delta::kMaxDepth) rebuilt = rebuild(c, h.id, b);
            release(chain);
            if (!found) continue;  // pruned: try the head, else store in full
        }
        if (depth > ce::delta::kMaxDepth) continue;
        // The delta's diff runs under concurrent_edit.max_merge_memory; past it the
        // version is stored in full (the delta only saves space).
        std::string d;
        try {
            ce::memory::Budget budget = merge_budget();
            d = ce::delta::encode(head ? *head_text : rebuilt, content);
        } catch (const ce::Error& e) {
            if (e.code() != ce::Errc::limit_exceeded) throw;
            break;
        }
        if (ce::delta::worth_a_delta(d.size(), content.size())) return StoredForm{std::move(d), b, depth};
        if (b == h.head_version) break;
    }
    return StoredForm{};
}

}  // namespace

int32 append_version(Spi& spi, const FileHead& h, std::string_view content, const std::string& hash,
                     const pg_uuid_t& author, const pg_uuid_t& session_id, const std::string* client_clock,
                     std::string* clock_out, const std::string* head_text) {
    static Statement q(
        "WITH v AS (INSERT INTO concurrent_edit.file_versions "
        "    (project_id, file_id, version, content, content_hash, created_by, session_id, vector_clock, "
        "     delta, delta_base, depth, bytes) "
        "    VALUES ($1, $2, $3, $4, $5, $6, $7, $8::concurrent_edit.vclock, $9, $10, $11, $12) RETURNING version) "
        "UPDATE concurrent_edit.files SET head_version = $3, head_hash = $5, head_clock = $8::concurrent_edit.vclock, "
        "    head_content = $13, updated_by = $6, updated_at = pg_catalog.now() "
        "WHERE project_id = $1 AND id = $2",
        {UUIDOID, UUIDOID, INT4OID, TEXTOID, TEXTOID, UUIDOID, UUIDOID, TEXTOID, BYTEAOID, INT4OID, INT4OID, INT4OID,
         TEXTOID});
    // The limit on texts bounds every head, not only the arguments: a merge, a
    // keep-both resolution or a revert could make one larger, and each later
    // merge, diff or write-back of that file was then refused (or ran out of
    // concurrent_edit.max_merge_memory), with no way back below the limit.
    if (content.size() > max_input_bytes())
        throw SqlError(ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                       "the new version of file " + uuid_to_string(h.id) + " would be larger than concurrent_edit.max_input_size",
                       ce::Detail()
                           .add("argument", "result")
                           .add("file_id", uuid_to_string(h.id))
                           .add("bytes", content.size())
                           .add("limit", max_input_bytes()),
                       "Nothing was written. Write a smaller text on the head, or ask a superuser to raise the limit.");
    int32 version = h.head_version + 1;
    StoredForm form = storage_form(spi, h, version, content, head_text);
    bool full = form.delta.empty();
    // The writing actor is server-side (the session, else the author), not the
    // client's device, so clocks stay small.
    ce::VClock client;
    if (client_clock != nullptr) client = ce::VClock::parse(*client_clock);
    ce::VClock clock = ce::next_version_clock(ce::VClock::parse(h.head_clock.empty() ? "{}" : h.head_clock),
                                              client_clock != nullptr ? &client : nullptr,
                                              uuid_to_string(uuid_is_null(session_id) ? author : session_id));
    std::string clock_text = clock.to_text();
    Datum text = text_datum(content), hash_text = text_datum(hash);
    Datum delta = full ? Datum(0) : text_datum(form.delta);
    NewVersion row{h.project_id, h.id, author, session_id, version, form.base, form.depth,
                   static_cast<int32>(content.size()), text, delta, hash_text, clock_text.c_str()};
    if (!pg_call([&row] { return store_version_c(row); })) {  // the tables as made: from C
        std::string nulls = "             ";
        if (full) nulls[8] = nulls[9] = 'n';
        else nulls[3] = 'n';
        if (uuid_is_null(session_id)) nulls[6] = 'n';
        q.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), Int32GetDatum(version), full ? text : Datum(0),
                    hash_text, uuid_datum(author), uuid_datum(session_id), text_datum(clock_text), delta,
                    Int32GetDatum(form.base), Int32GetDatum(form.depth),
                    Int32GetDatum(static_cast<int32>(content.size())), text},
              nulls);
    }
    queue_change(spi, file_event("version", h.project_id, h.id, session_id, author, h.normalized_path, version, hash));
    if (clock_out != nullptr) *clock_out = std::move(clock_text);
    return version;
}

}  // namespace ce::pg
