// Conversion between PostgreSQL jsonb and the core's ce::json::Value.
//
// Reading happens in two steps that respect the boundary rules:
//   1. flatten_jsonb(): plain C work (JsonbIterator, numeric_out) into a palloc'd
//      array of trivially destructible tokens. It may ereport, so call it before
//      guard() (argument decoding) or inside pg_call().
//   2. to_value(): builds the Value inside guard(), with no PostgreSQL call.
// Writing: jsonb_datum() flattens the Value in C++ and pushes the tokens with
// pushJsonbValue() inside one pg_call().
//
// Numbers travel as their decimal text (numeric_out / numeric_in): no precision lost.
#pragma once

#include <cstddef>

#include "concurrent_edit/json.hpp"
#include "pg/pg_headers.hpp"

extern "C" {
#include "utils/jsonb.h"
}

namespace ce::pg {

struct JsonbToken {
    enum Kind : uint8 { begin_array, begin_object, end, key, null, boolean, number, string };
    uint8 kind;
    bool boolean_value;
    int len;          // key, number, string: bytes; begin_array/begin_object: size
    const char* str;  // points into the jsonb value or a palloc'd number text
};

struct FlatJsonb {
    JsonbToken* tokens = nullptr;
    std::size_t count = 0;
    bool isnull = true;
};

// Flattens a jsonb document. Nested deeper than ce::json::kMaxDepth: 54000 naming
// `name`. Checks for interrupts. May ereport (see the file comment).
FlatJsonb flatten_jsonb(Jsonb* jb, const char* name);

// Reads jsonb argument `n` (step 1 of a SQL-callable function): a NULL raises 22004
// naming `name` unless `nullable` (then nullptr is returned); more than `max_bytes`
// bytes raises 54000 before the value is detoasted. Returns the detoasted value.
Jsonb* jsonb_arg(FunctionCallInfo fcinfo, int n, const char* name, std::size_t max_bytes, bool nullable = false);

// True when both values have the same bytes (then they are identical as documents).
bool same_bytes(const Jsonb* a, const Jsonb* b);

// Inside guard(): the core value of a flattened jsonb (no PostgreSQL call).
ce::json::Value to_value(const FlatJsonb& flat);

// Inside guard(): a jsonb Datum holding `v` (PostgreSQL calls go through pg_call).
Datum jsonb_datum(const ce::json::Value& v);

}  // namespace ce::pg
