// Project-relative file paths: the rule that makes spellings of one file one key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ce {

// Longest path accepted, in bytes of UTF-8 (the path as given).
constexpr std::size_t kMaxPathBytes = 4096;
// Longest key of a path, in bytes of UTF-8: keys are indexed (unique per project),
// and a btree entry holds at most about 2.7 kB.
constexpr std::size_t kMaxKeyBytes = 2048;

// How a project compares paths (set_project_options). The defaults are a new
// project's: Unicode NFC, case-sensitive.
enum class UnicodeNormalization { none, nfc };
struct PathOptions {
    bool case_insensitive = false;
    UnicodeNormalization unicode = UnicodeNormalization::nfc;
};

// "NFC" or "none" (letter case ignored); invalid_parameter otherwise.
UnicodeNormalization parse_unicode_normalization(std::string_view name);
const char* unicode_normalization_name(UnicodeNormalization n) noexcept;

// A code point no path may contain, in any project (nullptr if it may appear):
//   "control"       C0 controls U+0000-U+001F and DEL U+007F (newline, tab...);
//   "c1_control"    C1 controls U+0080-U+009F;
//   "bidi_control"  bidirectional embeddings and overrides U+202A-U+202E,
//                   isolates U+2066-U+2069, marks U+200E, U+200F, U+061C;
//   "zero_width"    U+200B-U+200D (space, non-joiner, joiner), U+2060 word joiner,
//                   U+FEFF (byte order mark / zero-width no-break space).
// They make one name look like another (a right-to-left override shows
// "evil\u202Etxt.exe" as "evilexe.txt"), or are invisible.
const char* refused_path_character(std::uint32_t cp) noexcept;

// A name shown to other users beside paths (a session's sandbox_id), named
// `argument`: invalid_parameter when it is not UTF-8 or holds a character
// refused_path_character() names (as a path's step 1 below; DETAIL {"argument",
// "value", "code_point", "position", "kind"}, or {"argument", "byte_offset",
// "position"}).
void check_shown_name(std::string_view text, std::string_view argument);

// The key of a path in a project: two paths name one file of the project when their
// keys are equal. The rule, in order:
//   1. refusals (invalid_parameter, DETAIL {"path", "code_point": "U+202E",
//      "position": 1-based character position, "kind"}): a path that is not UTF-8,
//      or holds a character refused_path_character() names;
//   2. structure: backslashes become '/', repeated slashes collapse, leading and
//      trailing slashes and "." segments are removed, ".." removes the previous
//      segment (invalid_parameter when it climbs above the root, or when nothing
//      is left);
//   3. Unicode, with options.unicode == nfc: canonical composition (NFC), so "café"
//      typed as e + U+0301 and as U+00E9 is one key;
//   4. case, with options.case_insensitive: full Unicode case folding (not a
//      locale's lowercase, so keys do not depend on the database's locale):
//      "README.md" and "readme.md" are one key; "Straße" folds to "strasse";
//      "I" folds to "i" and dotted "İ" (U+0130) to "i" + U+0307, while dotless "ı"
//      (U+0131) stays itself (no Turkish special case). With NFC too the key is
//      NFC(fold(NFD(path))), the canonical caseless form.
// Everything else is kept as given, spaces included: " a.txt", "a.txt " and
// "a.txt" are three keys. No compatibility mapping (NFKC): fullwidth "ｆ" and "f",
// "①" and "1" stay distinct (case folding does map the ligature "ﬁ" to "fi").
// Idempotent: the key of a key is itself.
// limit_exceeded when the path is over kMaxPathBytes or its key over kMaxKeyBytes.
std::string normalize_path(std::string_view path, const PathOptions& options = {});

}  // namespace ce
