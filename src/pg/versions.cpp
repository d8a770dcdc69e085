#include "pg/versions.hpp"

#include "concurrent_edit/vclock.hpp"
#include "pg/feed.hpp"

namespace ce::pg {

std::optional<VersionText> fetch_version(Spi& spi, const pg_uuid_t& project_id, const pg_uuid_t& file_id,
                                         int32 version) {
    static Statement q(
        "SELECT v.content, v.content_hash FROM concurrent_edit.file_versions v "
        "WHERE v.project_id = $1 AND v.file_id = $2 AND v.version = $3",
        {UUIDOID, UUIDOID, INT4OID});
    Rows r = q.run(spi, {uuid_datum(project_id), uuid_datum(file_id), Int32GetDatum(version)});
    if (r.empty()) return std::nullopt;
    return VersionText{r.text(0, 0), r.text(0, 1)};
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

std::optional<int32> version_dominated_by(Spi& spi, const FileHead& h, const std::string& clock) {
    static Statement q(
        "SELECT max(v.version) FROM concurrent_edit.file_versions v "
        "WHERE v.project_id = $1 AND v.file_id = $2 "
        "  AND v.vector_clock OPERATOR(concurrent_edit.<=) $3::concurrent_edit.vclock",
        {UUIDOID, UUIDOID, TEXTOID});
    Rows r = q.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), text_datum(clock)});
    if (r.isnull(0, 0)) return std::nullopt;
    return r.int4(0, 0);
}

int32 append_version(Spi& spi, const FileHead& h, std::string_view content, const std::string& hash,
                     const pg_uuid_t& author, const pg_uuid_t& session_id, const std::string* client_clock,
                     std::string* clock_out) {
    static Statement q(
        "WITH v AS (INSERT INTO concurrent_edit.file_versions "
        "    (project_id, file_id, version, content, content_hash, created_by, session_id, vector_clock) "
        "    VALUES ($1, $2, $3, $4, $5, $6, $7, $8::concurrent_edit.vclock) RETURNING version) "
        "UPDATE concurrent_edit.files SET head_version = $3, head_hash = $5, head_clock = $8::concurrent_edit.vclock, "
        "    updated_by = $6, updated_at = now() "
        "WHERE project_id = $1 AND id = $2",
        {UUIDOID, UUIDOID, INT4OID, TEXTOID, TEXTOID, UUIDOID, UUIDOID, TEXTOID});
    int32 version = h.head_version + 1;
    // The writing actor is server-side (the session, else the author), not the
    // client's device, so clocks stay small.
    ce::VClock clock = ce::VClock::parse(h.head_clock.empty() ? "{}" : h.head_clock);
    if (client_clock != nullptr) clock.merge(ce::VClock::parse(*client_clock));
    clock.increment(uuid_to_string(uuid_is_null(session_id) ? author : session_id));
    std::string clock_text = clock.to_text();
    q.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), Int32GetDatum(version), text_datum(content),
                text_datum(hash), uuid_datum(author), uuid_datum(session_id), text_datum(clock_text)},
          uuid_is_null(session_id) ? "      n " : "");
    queue_change(spi, file_event("version", h.project_id, h.id, session_id, author, h.normalized_path, version, hash));
    if (clock_out != nullptr) *clock_out = std::move(clock_text);
    return version;
}

}  // namespace ce::pg
