// Conversion between PostgreSQL jsonb and the core's ce::json::Value.
//
// Both directions work on jsonb's binary layout directly (jsonb_layout.hpp), with no
// intermediate token array or JsonbValue tree, so a conversion costs the memory of
// its result and little more:
//  * Reading walks the containers in place and builds the Value; each number's text
//    comes from numeric_out (through pg_call, with a small cache, in a scratch memory
//    context reset as it goes) and the number keeps its numeric as its origin tag.
//    With an Interner, containers identical to the reference's share its nodes.
//  * Writing measures the Value, allocates the jsonb once and writes it; numbers with
//    an origin copy that numeric, others are converted once with numeric_in.
// Both run inside guard() and call PostgreSQL only through pg_call().
#pragma once

#include <cstddef>

#include "concurrent_edit/json.hpp"
#include "pg/pg_headers.hpp"

namespace ce::pg {

// Reads jsonb argument `n`: a NULL raises 22004 naming `name` unless `nullable`
// (then nullptr is returned); more than `max_bytes` bytes raises 54000 before the
// value is detoasted. Returns the detoasted value.
Jsonb* jsonb_arg(FunctionCallInfo fcinfo, int n, const char* name, std::size_t max_bytes, bool nullable = false);

// True when both values have the same bytes (then they are identical as documents).
bool same_bytes(const Jsonb* a, const Jsonb* b);

// The core value of a jsonb document. Nested deeper than ce::json::kMaxDepth: 54000
// naming `name`. Checks for interrupts. With `interner`, containers identical to its
// reference's share their nodes.
ce::json::Value jsonb_to_value(const Jsonb* jb, const char* name, const ce::json::Interner* interner = nullptr);

// A jsonb Datum (palloc'd in the current memory context) holding `v`.
Datum jsonb_datum(const ce::json::Value& v);

// A jsonb Datum of JSON text in UTF-8 that the extension made (semantic warnings):
// parsed by the core in a UTF-8 database; else converted to the database's
// encoding and read by jsonb_in, so that its strings are in that encoding.
Datum utf8_json_datum(const std::string& json);

}  // namespace ce::pg
