// Module entry point: magic block, _PG_init, and the foundation's SQL functions.
#include <string>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/path.hpp"
#include "concurrent_edit/sha256.hpp"
#include "pg/boundary.hpp"
#include "pg/changes.hpp"
#include "pg/files.hpp"
#include "pg/guc.hpp"
#include "pg/shared.hpp"
#include "pg/worker.hpp"

extern "C" {
#include "utils/guc.h"

PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

void _PG_init(void) {
    ce::set_interrupt_hook(&ce::pg::check_interrupts);
    ce::pg::define_gucs();
    ce::pg::register_change_callbacks();
    ce::pg::register_file_callbacks();
    if (process_shared_preload_libraries_in_progress) {
        ce::pg::install_shmem_hooks();
        ce::pg::register_worker();
    }
}

// normalize_path(path text) RETURNS text
CE_FUNCTION(ce_normalize_path) {
    ce::pg::TextArg path = ce::pg::text_arg(fcinfo, 0, "path", ce::kMaxPathBytes * 4);
    return ce::pg::guard([&]() -> Datum {
        return ce::pg::text_datum(ce::normalize_path(path.view()));
    });
}

// _setting(name): the current value of one of the extension's settings. The
// PL/pgSQL functions read settings through it, because calling it loads the
// library, which defines the settings: current_setting() alone fails in a new
// session of a server that does not preload the library.
CE_FUNCTION(ce_setting) {
    ce::pg::TextArg name = ce::pg::text_arg(fcinfo, 0, "name", 256);
    return ce::pg::guard([&]() -> Datum {
        std::string n(name.view());
        if (n.rfind("concurrent_edit.", 0) != 0)
            throw ce::pg::SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "\"" + n + "\" is not a concurrent_edit setting");
        const char* value = ce::pg::pg_call([&n] { return GetConfigOptionByName(n.c_str(), nullptr, false); });
        return ce::pg::text_datum(std::string_view(value));
    });
}

// content_hash(content text) RETURNS text: lowercase hex SHA-256 of the bytes.
CE_FUNCTION(ce_content_hash) {
    ce::pg::TextArg content = ce::pg::text_arg(fcinfo, 0, "content", MaxAllocSize);
    return ce::pg::guard([&]() -> Datum {
        char hex[64];
        ce::sha256_hex(content.view(), hex);
        return ce::pg::text_datum(std::string_view(hex, 64));
    });
}
