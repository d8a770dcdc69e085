// The foundation (src/sql/00_foundation.sql, docs/reference/foundation.md):
// normalize_path (the rule is the core's, path.hpp; keys per project: paths.cpp),
// content_hash, is_sha256_hex (the check of the sha256_hex domain) and the
// internal _setting.
#include <string>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/path.hpp"
#include "pg/args.hpp"
#include "pg/hash.hpp"
#include "pg/paths.hpp"

using namespace ce::pg;

// normalize_path(path text, case_insensitive boolean DEFAULT false,
//                unicode_normalization text DEFAULT 'NFC') RETURNS text: the key of the
// path under those options (what a project with them stores in files.normalized_path).
CE_FUNCTION(ce_normalize_path) {
    TextArg path = text_arg(fcinfo, 0, "path", ce::kMaxPathBytes * 4);
    ce::PathOptions options;
    options.case_insensitive = bool_arg(fcinfo, 1, options.case_insensitive);
    if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
        options.unicode = ce::parse_unicode_normalization(text_arg(fcinfo, 2, "unicode_normalization", 64).view());
    return text_datum(path_key(path.view(), options));
}

// _setting(name): the current value of one of the extension's settings (internal).
CE_FUNCTION(ce_setting) {
    TextArg name = text_arg(fcinfo, 0, "name", 256);
    std::string n = name.str();
    if (n.rfind("concurrent_edit.", 0) != 0)
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "\"" + ce::excerpt(n) + "\" is not a concurrent_edit setting",
                       ce::Detail().add("argument", "name").add("value", n));
    // missing_ok: an unknown name is ours to refuse, with a DETAIL (42704).
    const char* value = pg_call([&n] { return GetConfigOptionByName(n.c_str(), nullptr, true); });
    if (value == nullptr)
        throw SqlError(ERRCODE_UNDEFINED_OBJECT, "unrecognized configuration parameter \"" + ce::excerpt(n) + "\"",
                       ce::Detail().add("argument", "name").add("value", n));
    return text_datum(std::string_view(value));
}

// content_hash(content text) RETURNS text: lowercase hex SHA-256 of the bytes.
CE_FUNCTION(ce_content_hash) {
    TextArg content = text_arg(fcinfo, 0, "content", MaxAllocSize);
    char hex[kContentHashChars];
    content_hash(content.view(), hex);
    return text_datum(std::string_view(hex, kContentHashChars));
}

// is_sha256_hex(value text) RETURNS boolean: 64 lowercase hex digits (what
// content_hash returns). The check of the domain sha256_hex: a C test instead of a
// regular expression, which every write of a file evaluated twice.
CE_FUNCTION(ce_is_sha256_hex) {
    struct varlena* v = detoast_packed(PG_GETARG_DATUM(0));
    return BoolGetDatum(is_content_hash(std::string_view(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v))));
}
