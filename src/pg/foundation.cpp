// The foundation (src/sql/00_foundation.sql, docs/reference/foundation.md):
// normalize_path, content_hash and the internal _setting.
#include <string>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/path.hpp"
#include "pg/args.hpp"
#include "pg/hash.hpp"

using namespace ce::pg;

// normalize_path(path text) RETURNS text
CE_FUNCTION(ce_normalize_path) {
    TextArg path = text_arg(fcinfo, 0, "path", ce::kMaxPathBytes * 4);
    return text_datum(ce::normalize_path(path.view()));
}

// _setting(name): the current value of one of the extension's settings (internal).
CE_FUNCTION(ce_setting) {
    TextArg name = text_arg(fcinfo, 0, "name", 256);
    std::string n = name.str();
    if (n.rfind("concurrent_edit.", 0) != 0)
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "\"" + ce::excerpt(n) + "\" is not a concurrent_edit setting",
                       ce::Detail().add("argument", "name").add("value", n));
    const char* value = pg_call([&n] { return GetConfigOptionByName(n.c_str(), nullptr, false); });
    return text_datum(std::string_view(value));
}

// content_hash(content text) RETURNS text: lowercase hex SHA-256 of the bytes.
CE_FUNCTION(ce_content_hash) {
    TextArg content = text_arg(fcinfo, 0, "content", MaxAllocSize);
    char hex[kContentHashChars];
    content_hash(content.view(), hex);
    return text_datum(std::string_view(hex, kContentHashChars));
}
