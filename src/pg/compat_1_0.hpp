// Calls through the SQL declarations of version 1.0 (docs/upgrading.md): a
// database still at 1.0 whose library was replaced calls the 1.1 C functions with
// 1.0's argument lists and result types. Functions whose declaration changed
// incompatibly refuse such calls with 0A000 until ALTER EXTENSION ... UPDATE.
#pragma once

#include "pg/pg_headers.hpp"

namespace ce::pg {

// Throws SqlError 0A000 (JSON DETAIL: function, installed_version 1.0; HINT: the
// update) when the call comes through a declaration with other than `nargs_1_1`
// arguments, i.e. version 1.0's.
void refuse_1_0_declaration(FunctionCallInfo fcinfo, const char* function, int nargs_1_1);

}  // namespace ce::pg
