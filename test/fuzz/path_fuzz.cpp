// libFuzzer target for the key of a project-relative path (ce::normalize_path).
//
// Properties (a violation traps), for each of the four option sets:
//  * the input is refused only with ce::Error invalid_parameter or limit_exceeded;
//    a refusal other than limit_exceeded does not depend on the options (the
//    characters and the structure are checked the same way in every project);
//  * a key is valid UTF-8, at most kMaxPathBytes, holds no refused character, no
//    backslash, no empty, "." or ".." segment, and is its own key (idempotent);
//  * the steps compose: each options' key of the 'none' key is that options' key,
//    and the folded NFC key of the NFC key is the folded NFC key.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/json.hpp"
#include "concurrent_edit/path.hpp"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

struct Outcome {
    std::optional<std::string> key;
    ce::Errc error = ce::Errc::internal;
};

Outcome run(std::string_view in, const ce::PathOptions& o) {
    Outcome r;
    try {
        r.key = ce::normalize_path(in, o);
    } catch (const ce::Error& e) {
        check(e.code() == ce::Errc::invalid_parameter || e.code() == ce::Errc::limit_exceeded);
        r.error = e.code();
    }
    return r;
}

void check_key(const std::string& k, const ce::PathOptions& o) {
    check(!k.empty() && k.size() <= ce::kMaxPathBytes);
    check(ce::json::valid_utf8(k));
    check(k.find('\\') == std::string::npos);
    std::size_t start = 0;
    while (true) {
        std::size_t end = k.find('/', start);
        std::string_view seg(k.data() + start, (end == std::string::npos ? k.size() : end) - start);
        check(!seg.empty() && seg != "." && seg != "..");
        if (end == std::string::npos) break;
        start = end + 1;
    }
    // No refused character survives (every byte >= 0x80 starts a valid sequence).
    for (unsigned char c : k) check(c >= 0x20 && c != 0x7f);
    check(k.find("\xc2\x80") == std::string::npos && k.find("\xe2\x80\xae") == std::string::npos &&
          k.find("\xe2\x80\x8b") == std::string::npos && k.find("\xef\xbb\xbf") == std::string::npos);
    check(ce::normalize_path(k, o) == k);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const ce::PathOptions as_given{false, ce::UnicodeNormalization::none}, nfc{false, ce::UnicodeNormalization::nfc},
        fold{true, ce::UnicodeNormalization::none}, fold_nfc{true, ce::UnicodeNormalization::nfc};
    Outcome a = run(in, as_given), b = run(in, nfc), c = run(in, fold), d = run(in, fold_nfc);
    // The 'none' case-sensitive key never grows, so its refusals are every project's.
    if (!a.key) {
        check(!b.key && !c.key && !d.key);
        check(b.error == a.error && c.error == a.error && d.error == a.error);
        return 0;
    }
    check_key(*a.key, as_given);
    check(a.key->size() <= in.size());
    for (const Outcome* o : {&b, &c, &d})
        if (!o->key) check(o->error == ce::Errc::limit_exceeded);
    if (b.key) {
        check_key(*b.key, nfc);
        check(ce::normalize_path(*a.key, nfc) == *b.key);
    }
    if (c.key) {
        check_key(*c.key, fold);
        check(ce::normalize_path(*a.key, fold) == *c.key);
    }
    if (d.key) {
        check_key(*d.key, fold_nfc);
        check(ce::normalize_path(*a.key, fold_nfc) == *d.key);
        if (b.key) check(ce::normalize_path(*b.key, fold_nfc) == *d.key);
        // (Not so from the folded key: folding before NFD loses canonical order,
        // U+1FBC U+0745 folds to alpha iota U+0745 but its key is alpha U+0745 iota.)
    }
    return 0;
}
