// Module entry point: magic block, _PG_init, and the foundation's SQL functions.
#include <string>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/path.hpp"
#include "concurrent_edit/sha256.hpp"
#include "pg/access.hpp"
#include "pg/args.hpp"
#include "pg/feed.hpp"
#include "pg/file_head.hpp"
#include "pg/guc.hpp"
#include "pg/owner.hpp"
#include "pg/shared.hpp"
#include "pg/worker.hpp"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

void _PG_init(void) {
    ce::set_interrupt_hook(&ce::pg::check_interrupts);
    ce::pg::define_gucs();
    ce::pg::register_feed_callbacks();
    ce::pg::register_file_head_callbacks();
    ce::pg::register_access_callbacks();
    ce::pg::register_owner_callbacks();
    if (process_shared_preload_libraries_in_progress) {
        ce::pg::install_shmem_hooks();
        ce::pg::register_worker();
    }
}

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
                       "{\"argument\": \"name\"}");
    const char* value = pg_call([&n] { return GetConfigOptionByName(n.c_str(), nullptr, false); });
    return text_datum(std::string_view(value));
}

// content_hash(content text) RETURNS text: lowercase hex SHA-256 of the bytes.
CE_FUNCTION(ce_content_hash) {
    TextArg content = text_arg(fcinfo, 0, "content", MaxAllocSize);
    char hex[64];
    ce::sha256_hex(content.view(), hex);
    return text_datum(std::string_view(hex, 64));
}
