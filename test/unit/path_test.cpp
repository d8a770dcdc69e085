// The key of a project-relative path (include/concurrent_edit/path.hpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/json.hpp"
#include "concurrent_edit/path.hpp"
#include "test_util.hpp"

using ce::Errc;
using ce::PathOptions;
using ce::UnicodeNormalization;

namespace {

const PathOptions kNfc{};                                          // a new project's default
const PathOptions kAsGiven{false, UnicodeNormalization::none};     // the behaviour before options existed
const PathOptions kFoldNfc{true, UnicodeNormalization::nfc};
const PathOptions kFoldOnly{true, UnicodeNormalization::none};
const PathOptions kAll[] = {kNfc, kAsGiven, kFoldNfc, kFoldOnly};

std::string key(const std::string& p, const PathOptions& o = kNfc) { return ce::normalize_path(p, o); }

// The ce::Error a path gets (fails the test when there is none).
ce::Error refusal(const std::string& p, const PathOptions& o = kNfc) {
    try {
        ce::normalize_path(p, o);
    } catch (const ce::Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error for path " << p;
    return ce::Error(Errc::internal, "none");
}

}  // namespace

TEST(NormalizePath, Spellings) {
    EXPECT_EQ(key("src/main.ts"), "src/main.ts");
    EXPECT_EQ(key("src\\main.ts"), "src/main.ts");
    EXPECT_EQ(key("./src/./main.ts"), "src/main.ts");
    EXPECT_EQ(key("src/lib/"), "src/lib");
    EXPECT_EQ(key("/src//lib///x"), "src/lib/x");
    EXPECT_EQ(key("src/lib/../main.ts"), "src/main.ts");
    EXPECT_EQ(key("README.md"), "README.md");
    EXPECT_EQ(key("Src/Main.TS"), "Src/Main.TS");  // case kept unless the project folds it
    EXPECT_EQ(key("a/.hidden/..x"), "a/.hidden/..x");
    EXPECT_EQ(key("d\u00e9j\u00e0/vu.txt"), "d\u00e9j\u00e0/vu.txt");
    for (const PathOptions& o : kAll) EXPECT_EQ(key(".\\src\\lib\\..\\main.ts/", o), "src/main.ts");
}

TEST(NormalizePath, Rejects) {
    for (const PathOptions& o : kAll) {
        EXPECT_CE_ERROR(ce::normalize_path("", o), Errc::invalid_parameter);
        EXPECT_CE_ERROR(ce::normalize_path("/", o), Errc::invalid_parameter);
        EXPECT_CE_ERROR(ce::normalize_path("./.", o), Errc::invalid_parameter);
        EXPECT_CE_ERROR(ce::normalize_path("..", o), Errc::invalid_parameter);
        EXPECT_CE_ERROR(ce::normalize_path("a/../../b", o), Errc::invalid_parameter);
        EXPECT_CE_ERROR(ce::normalize_path("a\nb", o), Errc::invalid_parameter);
        EXPECT_CE_ERROR(ce::normalize_path(std::string(ce::kMaxPathBytes + 1, 'a'), o), Errc::limit_exceeded);
        // The key is bounded apart (an index entry): a path within the limit whose
        // key is too long, and a long path with a short key.
        EXPECT_CE_ERROR(ce::normalize_path(std::string(ce::kMaxKeyBytes + 1, 'a'), o), Errc::limit_exceeded);
        EXPECT_NO_THROW(ce::normalize_path(std::string(ce::kMaxKeyBytes, 'a'), o));
        EXPECT_EQ(ce::normalize_path(std::string(ce::kMaxPathBytes - 1, '/') + "a", o), "a");
    }
}

// NFC: the two spellings of "café" (U+00E9, and e + U+0301 COMBINING ACUTE ACCENT)
// are one key; the key is the composed form. With 'none' they stay two.
TEST(NormalizePath, NfcJoinsCanonicalSpellings) {
    const std::string nfc = "caf\u00e9.txt", nfd = "cafe\u0301.txt";
    ASSERT_NE(nfc, nfd);
    EXPECT_EQ(key(nfd), nfc);
    EXPECT_EQ(key(nfc), nfc);
    EXPECT_EQ(key("docs/cafe\u0301/menu"), "docs/caf\u00e9/menu");
    EXPECT_EQ(key(nfd, kAsGiven), nfd);
    EXPECT_NE(key(nfd, kAsGiven), key(nfc, kAsGiven));
    EXPECT_EQ(key("\u1100\u1161"), "\uac00");  // Hangul jamo compose
    EXPECT_EQ(key("\u212a.txt"), "K.txt");      // KELVIN SIGN is canonically K
    // Canonical, not compatibility equivalence: these stay apart.
    EXPECT_NE(key("\uff46.txt"), key("f.txt"));  // FULLWIDTH LATIN SMALL LETTER F
    EXPECT_NE(key("\u2460.txt"), key("1.txt"));  // CIRCLED DIGIT ONE
    EXPECT_NE(key("\ufb01le"), key("file"));     // LATIN SMALL LIGATURE FI (case-sensitive)
}

TEST(NormalizePath, CaseInsensitiveFoldsCase) {
    EXPECT_EQ(key("README.md", kFoldNfc), "readme.md");
    EXPECT_EQ(key("ReadMe.MD", kFoldNfc), key("readme.md", kFoldNfc));
    EXPECT_EQ(key("Docs/README.md", kFoldOnly), "docs/readme.md");
    EXPECT_NE(key("README.md"), key("readme.md"));  // case-sensitive by default
    // NFC and folding together: every spelling of CAFÉ meets.
    EXPECT_EQ(key("CAFE\u0301", kFoldNfc), "caf\u00e9");
    EXPECT_EQ(key("Caf\u00c9", kFoldNfc), "caf\u00e9");
    // Folding without NFC keeps canonical spellings apart.
    EXPECT_NE(key("CAFE\u0301", kFoldOnly), key("caf\u00e9", kFoldOnly));
    // Greek: final and medial sigma fold alike.
    EXPECT_EQ(key("\u03a3\u039f\u03a3", kFoldNfc), key("\u03c3\u03bf\u03c2", kFoldNfc));
    // Canonical caseless matching: U+0345 (iota subscript) folds to iota, so the
    // precomposed, decomposed and capital forms of alpha with ypogegrammeni meet.
    EXPECT_EQ(key("\u1fb3", kFoldNfc), key("\u03b1\u0345", kFoldNfc));
    EXPECT_EQ(key("\u1fbc", kFoldNfc), key("\u1fb3", kFoldNfc));
    EXPECT_EQ(key("\ufb01le", kFoldNfc), "file");  // full folding expands the ligature
    EXPECT_EQ(key("\u212a", kFoldNfc), "k");
}

// German sharp s: full case folding maps ß and capital ẞ to "ss".
TEST(NormalizePath, GermanSharpSFoldsToSs) {
    EXPECT_EQ(key("Stra\u00dfe.txt", kFoldNfc), "strasse.txt");
    EXPECT_EQ(key("STRASSE.TXT", kFoldNfc), "strasse.txt");
    EXPECT_EQ(key("STRA\u1e9eE.txt", kFoldNfc), "strasse.txt");
    EXPECT_EQ(key("Stra\u00dfe.txt"), "Stra\u00dfe.txt");  // case-sensitive: kept
}

// Turkish i: the default (not Turkic) folding. I -> i; dotted capital İ (U+0130)
// -> i + U+0307 COMBINING DOT ABOVE; dotless ı (U+0131) has no folding. So in a
// case-insensitive project "FILE", "file" meet, "FİLE" and "fıle" are other files.
TEST(NormalizePath, TurkishDotlessIFoldsWithoutLocale) {
    EXPECT_EQ(key("FILE", kFoldNfc), "file");
    EXPECT_EQ(key("F\u0130LE", kFoldNfc), "fi\u0307le");
    EXPECT_EQ(key("f\u0131le", kFoldNfc), "f\u0131le");
    EXPECT_EQ(key("F\u0130LE", kFoldNfc), key("fi\u0307le", kFoldNfc));
    EXPECT_NE(key("F\u0130LE", kFoldNfc), key("file", kFoldNfc));
    EXPECT_NE(key("f\u0131le", kFoldNfc), key("file", kFoldNfc));
}

// Leading and trailing spaces (and every other character not named by the rule)
// are kept: they are part of the name, as on POSIX file systems.
TEST(NormalizePath, SpacesAreKept) {
    for (const PathOptions& o : kAll) {
        EXPECT_EQ(key(" a.txt", o), " a.txt");
        EXPECT_EQ(key("a.txt ", o), "a.txt ");
        EXPECT_EQ(key("dir / x", o), "dir / x");
        EXPECT_EQ(key("a/ /b", o), "a/ /b");
        EXPECT_EQ(key("a/\u00a0/b", o), "a/\u00a0/b");  // NO-BREAK SPACE is a visible space
        EXPECT_NE(key(" a.txt", o), key("a.txt", o));
        EXPECT_NE(key("a.txt ", o), key("a.txt", o));
    }
}

TEST(NormalizePath, RefusesInvisibleAndDirectionCharacters) {
    struct Case {
        const char* path;
        const char* code_point;
        int position;
        const char* kind;
    };
    const std::vector<Case> cases = {
        {"evil\u202etxt.exe", "U+202E", 5, "bidi_control"},  // RIGHT-TO-LEFT OVERRIDE
        {"\u202aa", "U+202A", 1, "bidi_control"},
        {"a/\u2066b\u2069", "U+2066", 3, "bidi_control"},
        {"x\u2069", "U+2069", 2, "bidi_control"},
        {"\u00e9\u200e", "U+200E", 2, "bidi_control"},  // position counts characters
        {"a\u200f", "U+200F", 2, "bidi_control"},
        {"a\u061c", "U+061C", 2, "bidi_control"},
        {"re\u200bad.me", "U+200B", 3, "zero_width"},
        {"a\u200cb", "U+200C", 2, "zero_width"},
        {"a\u200db", "U+200D", 2, "zero_width"},
        {"a\u2060b", "U+2060", 2, "zero_width"},
        {"\ufeffa", "U+FEFF", 1, "zero_width"},
        {"in\u00advoice.pdf", "U+00AD", 3, "invisible"},  // SOFT HYPHEN
        {"a\u034fb", "U+034F", 2, "invisible"},            // COMBINING GRAPHEME JOINER
        {"a\u2063b", "U+2063", 2, "invisible"},            // INVISIBLE SEPARATOR
        {"a\u180eb", "U+180E", 2, "invisible"},            // MONGOLIAN VOWEL SEPARATOR
        {"\u3164", "U+3164", 1, "invisible"},               // HANGUL FILLER
        {"a\U000e0001", "U+E0001", 2, "invisible"},        // LANGUAGE TAG
        {"a\ufe0fb", "U+FE0F", 2, "invisible"},            // a variation selector after a letter
        {"\ufe0f", "U+FE0F", 1, "invisible"},
        {"a\u0085b", "U+0085", 2, "c1_control"},
        {"a\u0080", "U+0080", 2, "c1_control"},
        {"a\u009f", "U+009F", 2, "c1_control"},
        {"a\tb", "U+0009", 2, "control"},
        {"a\x7f", "U+007F", 2, "control"},
    };
    for (const Case& c : cases)
        for (const PathOptions& o : kAll) {
            ce::Error e = refusal(c.path, o);
            EXPECT_EQ(e.code(), Errc::invalid_parameter) << c.code_point;
            EXPECT_NE(e.detail().find(std::string("\"code_point\": \"") + c.code_point + "\""), std::string::npos)
                << e.detail();
            EXPECT_NE(e.detail().find("\"position\": " + std::to_string(c.position)), std::string::npos)
                << e.detail();
            EXPECT_NE(e.detail().find(std::string("\"kind\": \"") + c.kind + "\""), std::string::npos) << e.detail();
        }
    // The DETAIL escapes the refused character: shown in a log, it reorders nothing.
    ce::Error e = refusal("evil\u202etxt.exe");
    EXPECT_NE(e.detail().find("\"path\": \"evil\\u202etxt.exe\""), std::string::npos) << e.detail();
    EXPECT_EQ(e.detail().find("\u202e"), std::string::npos) << e.detail();
    // Above U+FFFF the escape is a surrogate pair: "\ue0001" would read back as
    // U+E000 followed by "1". Parsed, the DETAIL gives the path back as it was.
    e = refusal("a\U000e0001b");
    EXPECT_NE(e.detail().find("\"path\": \"a\\udb40\\udc01b\""), std::string::npos) << e.detail();
    // A variation selector is refused only where it shows nothing (not after an
    // emoji): there it is escaped like the others, after an emoji it is kept.
    e = refusal("a\ufe0fb");
    EXPECT_NE(e.detail().find("\"path\": \"a\\ufe0fb\""), std::string::npos) << e.detail();
    EXPECT_EQ(e.detail().find("\ufe0f"), std::string::npos) << e.detail();
    e = refusal("x\U000e0100y");
    EXPECT_NE(e.detail().find("\"path\": \"x\\udb40\\udd00y\""), std::string::npos) << e.detail();
    e = refusal("\u2764\ufe0f\ufe0f.md");  // the second selects nothing
    EXPECT_NE(e.detail().find("\"path\": \"\u2764\ufe0f\\ufe0f.md\""), std::string::npos) << e.detail();
    e = refusal("\u2764\ufe0f\u202e.md");  // refused elsewhere: the emoji's selector is kept
    EXPECT_NE(e.detail().find("\"path\": \"\u2764\ufe0f\\u202e.md\""), std::string::npos) << e.detail();
    for (const char* p : {"a\U000e0001b", "evil\u202etxt.exe", "x\U000e0100y\u2066", "\U000e007f", "a\tb", "a\ufe0fb",
                          "\u2764\ufe0f\ufe0f.md"}) {
        ce::Error r = refusal(p);
        ce::json::Value detail = ce::json::parse(r.detail());
        ASSERT_NE(detail.find("path"), nullptr) << r.detail();
        EXPECT_EQ(detail.find("path")->text(), p) << r.detail();
    }
    // Neighbours of the refused ranges are ordinary characters.
    for (const char* ok : {"a\u00a0b", "a\u00a1b", "a\u200ab", "a\u2010b", "a\u2070b", "a\u205fb", "a\u00acb",
                           "a\u202fb", "a\ufefeb", "a\u061bb", "a\u061db", "\u2764\ufe0f.md", "\u2764.md"})
        EXPECT_NO_THROW(key(ok)) << ok;
    EXPECT_STREQ(ce::refused_path_character(0x202E), "bidi_control");
    EXPECT_EQ(ce::refused_path_character('a'), nullptr);
}

// A name shown to other users (a session's sandbox_id) is refused what a path is
// in step 1, its message and DETAIL naming the argument.
TEST(CheckShownName, RefusesWhatAPathRefuses) {
    auto refused = [](const std::string& s) {
        try {
            ce::check_shown_name(s, "sandbox_id");
        } catch (const ce::Error& e) {
            return e;
        }
        ADD_FAILURE() << "accepted: " << s;
        return ce::Error(Errc::internal, "");
    };
    ce::Error e = refused("agent-\u202egnp.exe");
    EXPECT_EQ(e.code(), Errc::invalid_parameter);
    EXPECT_NE(std::string(e.what()).find("sandbox_id contains"), std::string::npos) << e.what();
    EXPECT_EQ(e.detail(), "{\"argument\": \"sandbox_id\", \"value\": \"agent-\\u202egnp.exe\", "
                          "\"code_point\": \"U+202E\", \"position\": 7, \"kind\": \"bidi_control\"}");
    EXPECT_NE(refused("tab\n1").detail().find("\"kind\": \"control\""), std::string::npos);
    EXPECT_NE(refused("a\u0085").detail().find("\"kind\": \"c1_control\""), std::string::npos);
    EXPECT_NE(refused("a\u00adb").detail().find("\"kind\": \"invisible\""), std::string::npos);
    e = refused("a\xffb");
    EXPECT_NE(std::string(e.what()).find("sandbox_id is not valid UTF-8"), std::string::npos) << e.what();
    EXPECT_EQ(e.detail(), "{\"argument\": \"sandbox_id\", \"byte_offset\": 1, \"position\": 2}");
    // What a path may hold, a name may too: spaces, slashes, accents, an emoji
    // with its variation selector.
    for (const char* ok : {"tab 1", "ci/job#7", "caf\u00e9", "\u263a\ufe0f agent", "\u65e5\u672c"})
        EXPECT_NO_THROW(ce::check_shown_name(ok, "sandbox_id")) << ok;
}

TEST(NormalizePath, RefusesInvalidUtf8) {
    for (const char* bad : {"a\xc3", "\xff", "a\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80"}) {
        ce::Error e = refusal(bad);
        EXPECT_EQ(e.code(), Errc::invalid_parameter);
        EXPECT_NE(e.detail().find("\"byte_offset\""), std::string::npos) << e.detail();
    }
}

// The key is limited: folding may lengthen it (U+0149, two bytes, folds to
// U+02BC + "n", three).
TEST(NormalizePath, KeyLengthLimit) {
    std::string p;
    for (int i = 0; i < 1000; ++i) p += "\u0149";
    ASSERT_LE(p.size(), ce::kMaxKeyBytes);
    EXPECT_NO_THROW(key(p));
    EXPECT_CE_ERROR(key(p, kFoldNfc), Errc::limit_exceeded);
}

TEST(NormalizePath, Idempotent) {
    const char* paths[] = {"a/b",          "./a\\b/",       "x/../y/./z",    "//q//",
                           "CAFE\u0301",   "Stra\u00dfe",   "F\u0130LE",     "\u1fbc\u0345",
                           "\u212a/\u1100\u1161", "\u0390\u0301", "A\u0345\u0301", "\ufb01/\u0149"};
    for (const PathOptions& o : kAll)
        for (const char* p : paths) {
            std::string once = key(p, o);
            EXPECT_EQ(key(once, o), once) << p;
        }
}

TEST(NormalizePath, UnicodeNormalizationNames) {
    EXPECT_EQ(ce::parse_unicode_normalization("NFC"), UnicodeNormalization::nfc);
    EXPECT_EQ(ce::parse_unicode_normalization("nfc"), UnicodeNormalization::nfc);
    EXPECT_EQ(ce::parse_unicode_normalization("none"), UnicodeNormalization::none);
    EXPECT_EQ(ce::parse_unicode_normalization("None"), UnicodeNormalization::none);
    EXPECT_CE_ERROR(ce::parse_unicode_normalization("NFD"), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::parse_unicode_normalization(""), Errc::invalid_parameter);
    EXPECT_STREQ(ce::unicode_normalization_name(UnicodeNormalization::nfc), "NFC");
    EXPECT_STREQ(ce::unicode_normalization_name(UnicodeNormalization::none), "none");
}
