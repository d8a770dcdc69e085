// Decoding SQL arguments into plain values (the first thing a CE_FUNCTION body
// does). Refusals are thrown as SqlError: 22004 for a NULL where none is allowed
// (naming the argument), 54000 for a value over its size limit (checked before
// detoasting, so an oversized value is never decompressed), 22023 for a value out
// of its range. Detoasting goes through pg_call().
#pragma once

#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "pg/boundary.hpp"
#include "pg/values.hpp"

namespace ce::pg {

// A text argument: pointer into the (detoasted) value, no copy.
struct TextArg {
    const char* data = nullptr;
    std::size_t len = 0;
    bool isnull = true;
    std::string_view view() const noexcept { return {data, len}; }
    std::string str() const { return std::string(data, len); }
};

// 54000 for an argument of `bytes` bytes over its `limit` (JSON DETAIL).
[[noreturn]] void throw_too_large(const char* name, std::size_t bytes, std::size_t limit);

// Raises 22004 naming `name` when argument `n` is NULL.
void require_arg(FunctionCallInfo fcinfo, int n, const char* name);

// Text argument `n` of at most `max_bytes` bytes (54000 above). NULL: 22004 unless `nullable`.
TextArg text_arg(FunctionCallInfo fcinfo, int n, const char* name, std::size_t max_bytes, bool nullable = false);

// A varlena argument in its packed, detoasted form: no copy and no PostgreSQL
// call unless it is compressed or stored out of line.
inline struct varlena* detoast_packed(Datum d) {
    auto* v = reinterpret_cast<struct varlena*>(DatumGetPointer(d));
    if (!VARATT_IS_COMPRESSED(v) && !VARATT_IS_EXTERNAL(v)) return v;
    return pg_call([v] { return detoast_attr(v); });
}

// A non-NULL int4 argument (22004 when NULL).
int32 int4_arg(FunctionCallInfo fcinfo, int n, const char* name);
// An int4 argument that may be NULL (or absent).
std::optional<int32> int4_opt(FunctionCallInfo fcinfo, int n);
// An int8 argument that may be NULL (or absent).
std::optional<int64> int8_opt(FunctionCallInfo fcinfo, int n);
// A boolean argument; NULL (or absent) gives `if_null`.
bool bool_arg(FunctionCallInfo fcinfo, int n, bool if_null);
// A boolean argument that may be NULL (or absent): nullopt then.
std::optional<bool> bool_opt(FunctionCallInfo fcinfo, int n);

struct UuidArg {
    pg_uuid_t value{};
    bool null = true;
};
// A uuid argument (NULL allowed).
UuidArg uuid_arg(FunctionCallInfo fcinfo, int n);
// A uuid argument that must not be NULL (22004).
pg_uuid_t uuid_required(FunctionCallInfo fcinfo, int n, const char* name);

// An interval argument in microseconds (months count as 30 days, as EXTRACT(epoch)
// does); nullopt when NULL or absent.
std::optional<int64> interval_usecs_opt(FunctionCallInfo fcinfo, int n);
// A timestamptz argument; nullopt when NULL or absent.
std::optional<int64> timestamptz_opt(FunctionCallInfo fcinfo, int n);

}  // namespace ce::pg
