// Entry points kept for the SQL of version 1.0 (docs/upgrading.md lists the choice
// per symbol). Version 1.0's install script names C symbols that a 1.0 database
// calls until it is updated; CREATE EXTENSION ... VERSION '1.0' needs all of them.
#include "pg/compat_1_0.hpp"

#include <string>

#include "pg/boundary.hpp"
#include "pg/values.hpp"

namespace ce::pg {

namespace {

[[noreturn]] void refuse(const char* function) {
    throw SqlError(ERRCODE_FEATURE_NOT_SUPPORTED,
                   std::string("concurrent_edit.") + function + " of version 1.0 is not served by this library",
                   "{\"function\": " + json_string(std::string("concurrent_edit.") + function) +
                       ", \"installed_version\": \"1.0\", \"library_version\": \"1.1\"}",
                   "ALTER EXTENSION concurrent_edit UPDATE");
}

}  // namespace

void refuse_1_0_declaration(FunctionCallInfo fcinfo, const char* function, int nargs_1_1) {
    if (PG_NARGS() != nargs_1_1) refuse(function);
}

}  // namespace ce::pg

// _emit(project_id, event, ...): 1.0's PL/pgSQL API functions recorded their
// events through it. 1.1 records events from its C functions (feed.cpp) under the
// 1.1 access model; the 1.0 functions that call _emit run as the extension owner
// for any caller, so they are refused rather than served.
CE_FUNCTION(ce_emit) {
    ce::pg::refuse_1_0_declaration(fcinfo, "_emit", -1);
    PG_RETURN_VOID();
}
