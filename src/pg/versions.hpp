// The versions of a file (file_versions): reading one, finding a base, and
// appending the next one. A floor below write, conflicts, drafts and files.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pg/file_head.hpp"

namespace ce::pg {

struct VersionText {
    std::string content;
    std::string hash;
};

// The content of one version, or nullopt when it does not exist (any more): the
// head's from files.head_content, a snapshot's as stored, any other rebuilt by
// applying its chain of deltas (docs/reference/history.md). *depth, when given,
// receives the number of deltas applied. A damaged chain is XX001.
// Read from C, without a statement (no SPI connection needed).
std::optional<VersionText> fetch_version(const pg_uuid_t& project_id, const pg_uuid_t& file_id, int32 version,
                                         int32* depth = nullptr);
// The newest version whose content has this hash (the base named by an ETag).
std::optional<int32> version_with_hash(Spi& spi, const FileHead& h, const std::string& hash);
// The base of an offline edit (write's client_clock, when it does not dominate
// the head): the newest kept version whose clock `clock` dominates. VC006 when
// there is none, or when the version after it was removed by retention and the
// clock may come from that one or a later removed one (it is not the kept
// version's own clock, give or take the edits counted offline on `actor`, the
// writing session's node; empty without a session: docs/reference/history.md).
int32 base_of_clock(Spi& spi, const FileHead& h, const std::string& clock, const std::string& actor);

// Appends version head+1 with this content, moves the head and queues the
// "version" event. The version is stored as a delta from an older one (the
// skip-delta layout of delta.hpp) when that is worth it, else in full; the head's
// text is also kept whole in the file row. `head_text`, when the caller already
// has the head's text, saves reading it again. Its vector clock is the head's clock merged with
// `client_clock` (if any), incremented for the writing actor (the session, else
// the author). Returns the new version; *clock_out receives its clock text.
int32 append_version(Spi& spi, const FileHead& h, std::string_view content, const std::string& hash,
                     const pg_uuid_t& author, const pg_uuid_t& session_id, const std::string* client_clock = nullptr,
                     std::string* clock_out = nullptr, const std::string* head_text = nullptr);

}  // namespace ce::pg
