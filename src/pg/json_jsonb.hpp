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
// Both conversions are costly, so a NumericTexts cache shared by the flatten_jsonb()
// calls of one statement converts each distinct numeric once, and NumericOrigins
// lets jsonb_datum() reuse the input numerics instead of parsing the text again.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "concurrent_edit/json.hpp"
#include "pg/pg_headers.hpp"


namespace ce::pg {

struct JsonbToken {
    enum Kind : uint8 { begin_array, begin_object, end, key, null, boolean, number, string };
    uint8 kind;
    bool boolean_value;
    int len;                 // key, number, string: bytes; begin_array/begin_object: size
    const char* str;         // points into the jsonb value or a palloc'd number text
    Numeric numeric;         // number: the numeric it came from (points into the jsonb)
};

struct FlatJsonb {
    JsonbToken* tokens = nullptr;
    std::size_t count = 0;
};

// Direct-mapped cache numeric bytes -> numeric_out text (plain data, palloc it).
struct NumericTexts {
    static constexpr int kSlots = 512;
    Numeric numeric[kSlots];
    const char* text[kSlots];
    int len[kSlots];
};

// Flattens a jsonb document. Nested deeper than ce::json::kMaxDepth: 54000 naming
// `name`. Checks for interrupts. `cache` may be nullptr. May ereport (see the file
// comment).
FlatJsonb flatten_jsonb(Jsonb* jb, const char* name, NumericTexts* cache);

// Reads jsonb argument `n` (step 1 of a SQL-callable function): a NULL raises 22004
// naming `name` unless `nullable` (then nullptr is returned); more than `max_bytes`
// bytes raises 54000 before the value is detoasted. Returns the detoasted value.
Jsonb* jsonb_arg(FunctionCallInfo fcinfo, int n, const char* name, std::size_t max_bytes, bool nullable = false);

// True when both values have the same bytes (then they are identical as documents).
bool same_bytes(const Jsonb* a, const Jsonb* b);

// The input numeric of each number node built by to_value(), keyed by the address of
// the node's text (values derived from it share the node). Record with add(), then
// find() (the first find() sorts the records).
class NumericOrigins {
public:
    void add(const std::string* text, Numeric numeric) { entries_.push_back({text, numeric}); sorted_ = false; }
    Numeric find(const std::string* text) const;

private:
    struct Entry {
        const std::string* text;
        Numeric numeric;
    };
    mutable std::vector<Entry> entries_;
    mutable bool sorted_ = true;
};

// Inside guard(): the core value of a flattened jsonb (no PostgreSQL call). Records
// where its numbers came from in `origins` (may be nullptr).
ce::json::Value to_value(const FlatJsonb& flat, NumericOrigins* origins = nullptr);

// Inside guard(): a jsonb Datum holding `v` (PostgreSQL calls go through pg_call).
// Numbers found in `origins` reuse their input numeric.
Datum jsonb_datum(const ce::json::Value& v, const NumericOrigins* origins = nullptr);

}  // namespace ce::pg
