// The key of a project-relative path (include/concurrent_edit/path.hpp states the
// rule). Unicode normalization and case folding are ICU's (libicuuc), the same
// library the PostgreSQL server links.
#include "concurrent_edit/path.hpp"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include <cstdio>
#include <new>
#include <vector>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/json.hpp"

namespace ce {
namespace {

[[noreturn]] void icu_failed(UErrorCode status) {
    if (status == U_MEMORY_ALLOCATION_ERROR) throw std::bad_alloc();
    throw Error(Errc::internal, std::string("ICU failed on a file path: ") + u_errorName(status),
                Detail().add("icu_error", u_errorName(status)));
}

// Calls an ICU function that writes a string of T into (dest, capacity) and returns
// its length, growing the buffer once when the first guess was too small.
template <typename T, typename Fill>
std::basic_string<T> icu_string(std::size_t guess, Fill fill) {
    std::basic_string<T> out(guess, T());
    UErrorCode status = U_ZERO_ERROR;
    int32_t n = fill(out.data(), static_cast<int32_t>(out.size()), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
        out.assign(static_cast<std::size_t>(n), T());
        status = U_ZERO_ERROR;
        n = fill(out.data(), n, &status);
    }
    if (U_FAILURE(status)) icu_failed(status);
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::u16string to_utf16(std::string_view s) {
    return icu_string<char16_t>(s.size(), [s](UChar* dest, int32_t cap, UErrorCode* st) {
        int32_t n = 0;
        u_strFromUTF8(dest, cap, &n, s.data(), static_cast<int32_t>(s.size()), st);
        return n;
    });
}

std::string to_utf8(const std::u16string& s) {
    return icu_string<char>(s.size() * 3, [&s](char* dest, int32_t cap, UErrorCode* st) {
        int32_t n = 0;
        u_strToUTF8(dest, cap, &n, s.data(), static_cast<int32_t>(s.size()), st);
        return n;
    });
}

enum class Form { nfc, nfd };
std::u16string normalized(const std::u16string& s, Form form) {
    UErrorCode st = U_ZERO_ERROR;
    const UNormalizer2* n = form == Form::nfc ? unorm2_getNFCInstance(&st) : unorm2_getNFDInstance(&st);
    if (U_FAILURE(st)) icu_failed(st);
    return icu_string<char16_t>(s.size() + 16, [n, &s](UChar* dest, int32_t cap, UErrorCode* e) {
        return unorm2_normalize(n, s.data(), static_cast<int32_t>(s.size()), dest, cap, e);
    });
}

std::u16string folded(const std::u16string& s) {
    return icu_string<char16_t>(s.size() + 16, [&s](UChar* dest, int32_t cap, UErrorCode* e) {
        return u_strFoldCase(dest, cap, s.data(), static_cast<int32_t>(s.size()), U_FOLD_CASE_DEFAULT, e);
    });
}

bool variation_selector(std::uint32_t cp) noexcept {
    return (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF);
}

// The kind of refusal of `cp` after `previous` (0 at the start), or nullptr: the
// characters refused_path_character() names, and a variation selector that
// chooses nothing. It chooses how the character before it is drawn: after an
// emoji (\u2764\uFE0F) it is part of the name, after anything else it shows nothing.
const char* refused_here(std::uint32_t cp, std::uint32_t previous) noexcept {
    const char* kind = refused_path_character(cp);
    if (kind == nullptr && variation_selector(cp) &&
        !(previous != 0 && u_hasBinaryProperty(static_cast<UChar32>(previous), UCHAR_EMOJI)))
        kind = "invisible";
    return kind;
}

// `path` as a JSON string, cut like every echoed input, with the refused
// characters escaped (\u202e), judged as check_characters() judges them: a
// DETAIL shown in a log or a terminal does not reorder or hide the text around it.
std::string json_echo(std::string_view path) {
    std::string cut = excerpt(path), out = "\"";
    std::uint32_t previous = 0;
    for (std::size_t i = 0; i < cut.size();) {
        std::size_t len = static_cast<unsigned char>(cut[i]) < 0x80 ? 1 : json::utf8_sequence(cut, i);
        if (len == 0) len = 1;  // not reached: the path was checked (or this is the "..." ending)
        std::uint32_t cp = static_cast<unsigned char>(cut[i]);
        if (len > 1) {
            std::size_t k = i;
            U8_NEXT_UNSAFE(cut.data(), k, cp);
        }
        std::string_view ch(cut.data() + i, len);
        if (refused_here(cp, previous) != nullptr && cp >= 0x20) {
            json::append_json_escape(out, cp);  // a surrogate pair above U+FFFF
        } else {
            std::string piece;
            json::append_json_string(piece, ch);
            out.append(piece, 1, piece.size() - 2);
        }
        previous = cp;
        i += len;
    }
    return out + "\"";
}

// Step 1 of the rule: UTF-8, and no refused character. `argument`: the name of
// the argument checked when it is not a path (check_shown_name), which the
// message and the DETAIL then name.
void check_characters(std::string_view text, std::string_view argument = {}) {
    const bool path = argument.empty();
    const std::string subject = path ? std::string("file path") : std::string(argument);
    auto detail = [&] {
        Detail d;
        if (path) return d.add_json("path", json_echo(text));
        return d.add("argument", argument).add_json("value", json_echo(text));
    };
    std::size_t position = 0;  // in characters, from 1
    std::uint32_t previous = 0;
    for (std::size_t i = 0; i < text.size();) {
        ++position;
        auto c = static_cast<unsigned char>(text[i]);
        std::uint32_t cp = c;
        std::size_t len = 1;
        if (c >= 0x80) {
            len = json::utf8_sequence(text, i);
            if (len == 0) {
                Detail d = path ? Detail() : Detail().add("argument", argument);
                throw Error(Errc::invalid_parameter, subject + " is not valid UTF-8",
                            d.add("byte_offset", i).add("position", position));
            }
            std::size_t k = i;
            U8_NEXT_UNSAFE(text.data(), k, cp);
        }
        const char* kind = refused_here(cp, previous);
        previous = cp;
        if (kind != nullptr) {
            char name[16];
            std::snprintf(name, sizeof name, "U+%04X", static_cast<unsigned>(cp));
            bool control = std::string_view(kind) == "control";
            const std::string what = path ? std::string("Paths") : subject;
            throw Error(Errc::invalid_parameter,
                        subject + " contains " +
                            (control ? "a control character"
                                     : std::string("an invisible or direction-changing character ") + name),
                        detail().add("code_point", name).add("position", position).add("kind", kind),
                        control ? what + " may not contain control characters such as newline or tab."
                                : what + " may not contain C1 controls, bidirectional controls, zero-width or "
                                         "other invisible characters: they hide or disguise " +
                                      (path ? "a file's name." : "the name shown to other users."));
        }
        i += len;
    }
}

// Step 2: the segments.
std::string structure(std::string_view path) {
    std::vector<std::string_view> segs;
    std::size_t i = 0;
    while (i <= path.size()) {
        std::size_t j = i;
        while (j < path.size() && path[j] != '/' && path[j] != '\\') ++j;
        std::string_view seg = path.substr(i, j - i);
        if (seg.empty() || seg == ".") {
            // collapse "//", drop "./" and leading/trailing slashes
        } else if (seg == "..") {
            if (segs.empty())
                throw Error(Errc::invalid_parameter, "file path escapes the project root",
                            Detail().add("path", path), "A \"..\" segment may not climb above the project root.");
            segs.pop_back();
        } else {
            segs.push_back(seg);
        }
        i = j + 1;
    }
    if (segs.empty())
        throw Error(Errc::invalid_parameter, "file path is empty",
                    Detail().add("path", path), "The path names no file once \".\", \"..\" and slashes are resolved.");
    std::string out;
    out.reserve(path.size());
    for (std::size_t k = 0; k < segs.size(); ++k) {
        if (k) out.push_back('/');
        out.append(segs[k]);
    }
    return out;
}

bool ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

}  // namespace

UnicodeNormalization parse_unicode_normalization(std::string_view name) {
    auto same = [name](std::string_view want) {
        if (name.size() != want.size()) return false;
        for (std::size_t i = 0; i < name.size(); ++i) {
            char c = name[i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            if (c != want[i]) return false;
        }
        return true;
    };
    if (same("nfc")) return UnicodeNormalization::nfc;
    if (same("none")) return UnicodeNormalization::none;
    throw Error(Errc::invalid_parameter, "unknown unicode_normalization \"" + excerpt(name) + "\"",
                Detail().add("argument", "unicode_normalization").add("value", name).add_json("valid", "[\"NFC\", \"none\"]"),
                "Use 'NFC' (canonical composition, the default) or 'none' (paths compared as given).");
}

const char* unicode_normalization_name(UnicodeNormalization n) noexcept {
    return n == UnicodeNormalization::nfc ? "NFC" : "none";
}

void check_shown_name(std::string_view text, std::string_view argument) { check_characters(text, argument); }

const char* refused_path_character(std::uint32_t cp) noexcept {
    if (cp < 0x20 || cp == 0x7F) return "control";
    if (cp >= 0x80 && cp <= 0x9F) return "c1_control";
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F ||
        cp == 0x061C)
        return "bidi_control";
    if ((cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF) return "zero_width";
    // Every other default-ignorable code point (soft hyphen, combining grapheme
    // joiner, invisible operators, Hangul fillers, tags...): drawn as nothing. The
    // variation selectors are judged with the character before them (check_characters).
    if (variation_selector(cp)) return nullptr;
    if (u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) return "invisible";
    return nullptr;
}

std::string normalize_path(std::string_view path, const PathOptions& options) {
    if (path.size() > kMaxPathBytes)
        throw Error(Errc::limit_exceeded, "file path is too long",
                    Detail().add("bytes", path.size()).add("limit", kMaxPathBytes));
    check_characters(path);
    std::string key = structure(path);
    bool nfc = options.unicode == UnicodeNormalization::nfc;
    // NFC leaves ASCII as it is; ICU is needed only for other characters or folding.
    if (options.case_insensitive || (nfc && !ascii(key))) {
        std::u16string s = to_utf16(key);
        if (options.case_insensitive)
            s = nfc ? normalized(folded(normalized(s, Form::nfd)), Form::nfc) : folded(s);
        else
            s = normalized(s, Form::nfc);
        key = to_utf8(s);
    }
    if (key.size() > kMaxKeyBytes)
        throw Error(Errc::limit_exceeded, "the key of the file path is too long",
                    Detail().add("path", path, 256).add("bytes", key.size()).add("limit", kMaxKeyBytes),
                    "A path's key (the path with ., .. and slashes resolved, normalized and folded) is at most "
                    "2048 bytes (\"\xC3\x9F\" folds to \"ss\").");
    return key;
}

}  // namespace ce
