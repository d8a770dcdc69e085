#include "pg/args.hpp"

#include "concurrent_edit/pglz.hpp"

namespace ce::pg {

namespace {

// A text argument in its packed, detoasted form. A value compressed with pglz (the
// default of stored columns: merge inputs usually are) is decoded by the core's
// decoder, about twice as fast as the server's on text (docs/benchmarks.md, merge);
// every other form goes through the server's detoasting. The result is the same.
text* detoast_text(Datum d, const char* name, std::size_t max_bytes) {
    auto* v = reinterpret_cast<struct varlena*>(DatumGetPointer(d));
    if (VARATT_IS_EXTERNAL_ONDISK(v)) {
        varatt_external ptr;
        VARATT_EXTERNAL_GET_POINTER(ptr, v);
        // Compressed when stored smaller than its text (VARATT_EXTERNAL_IS_COMPRESSED,
        // spelled out without its signed/unsigned comparison).
        bool compressed = static_cast<int64>(VARATT_EXTERNAL_GET_EXTSIZE(ptr)) <
                          static_cast<int64>(ptr.va_rawsize) - static_cast<int64>(VARHDRSZ);
        if (!compressed || VARATT_EXTERNAL_GET_COMPRESS_METHOD(ptr) != TOAST_PGLZ_COMPRESSION_ID)
            return pg_call([d] { return reinterpret_cast<text*>(PG_DETOAST_DATUM_PACKED(d)); });
        v = pg_call([v] { return detoast_external_attr(v); });  // fetched, still compressed
    }
    // The fetched copy (not the argument itself) is freed once decoded, as the
    // server's detoasting does: a merge of three large values would hold them all.
    struct varlena* fetched = v != reinterpret_cast<struct varlena*>(DatumGetPointer(d)) ? v : nullptr;
    auto release = [fetched] {
        if (fetched != nullptr) pg_call([fetched] { pfree(fetched); });
    };
    if (!VARATT_IS_COMPRESSED(v) || VARDATA_COMPRESSED_GET_COMPRESS_METHOD(v) != TOAST_PGLZ_COMPRESSION_ID) {
        release();
        return pg_call([d] { return reinterpret_cast<text*>(PG_DETOAST_DATUM_PACKED(d)); });
    }
    Size raw = VARDATA_COMPRESSED_GET_EXTSIZE(v);
    Size stored = VARSIZE(v);
    auto corrupt = [&] {
        return SqlError(ERRCODE_DATA_CORRUPTED, std::string("compressed pglz data of argument \"") + name + "\" is corrupt",
                        "{\"argument\": " + json_string(name) + ", \"stored_bytes\": " + std::to_string(stored) +
                            ", \"raw_bytes\": " + std::to_string(raw) + "}",
                        "The stored value is damaged: restore it from a backup.");
    };
    // The sizes a damaged value may claim: a header cut short, or a text larger than
    // the one checked before it was fetched (toast_raw_datum_size).
    if (stored < VARHDRSZ_COMPRESSED || raw > max_bytes) throw corrupt();
    auto* out = pg_call([raw] { return reinterpret_cast<text*>(palloc(raw + VARHDRSZ)); });
    const auto* src = reinterpret_cast<const unsigned char*>(v) + VARHDRSZ_COMPRESSED;
    if (!ce::pglz::decompress(src, stored - VARHDRSZ_COMPRESSED, VARDATA(out), raw)) throw corrupt();
    release();
    SET_VARSIZE(out, raw + VARHDRSZ);
    return out;
}

}  // namespace

void throw_too_large(const char* name, std::size_t bytes, std::size_t limit) {
    throw SqlError(ERRCODE_PROGRAM_LIMIT_EXCEEDED, std::string("argument \"") + name + "\" is too large",
                   "{\"argument\": " + json_string(name) + ", \"bytes\": " + std::to_string(bytes) +
                       ", \"limit\": " + std::to_string(limit) + "}",
                   "Texts and documents are limited by concurrent_edit.max_input_size; other arguments have fixed limits "
                   "(docs/errors.md).");
}

void require_arg(FunctionCallInfo fcinfo, int n, const char* name) {
    if (n >= PG_NARGS() || PG_ARGISNULL(n))
        throw SqlError(ERRCODE_NULL_VALUE_NOT_ALLOWED, std::string("argument \"") + name + "\" must not be NULL",
                       "{\"argument\": " + json_string(name) + "}");
}

TextArg text_arg(FunctionCallInfo fcinfo, int n, const char* name, std::size_t max_bytes, bool nullable) {
    TextArg out;
    if (n >= PG_NARGS() || PG_ARGISNULL(n)) {
        if (!nullable) require_arg(fcinfo, n, name);
        return out;
    }
    Datum d = PG_GETARG_DATUM(n);
    Size raw = toast_raw_datum_size(d) - VARHDRSZ;
    if (raw > max_bytes) throw_too_large(name, raw, max_bytes);
    text* t = detoast_text(d, name, max_bytes);
    out.data = VARDATA_ANY(t);
    out.len = VARSIZE_ANY_EXHDR(t);
    out.isnull = false;
    return out;
}

int32 int4_arg(FunctionCallInfo fcinfo, int n, const char* name) {
    require_arg(fcinfo, n, name);
    return PG_GETARG_INT32(n);
}

std::optional<int32> int4_opt(FunctionCallInfo fcinfo, int n) {
    if (n >= PG_NARGS() || PG_ARGISNULL(n)) return std::nullopt;
    return PG_GETARG_INT32(n);
}

std::optional<int64> int8_opt(FunctionCallInfo fcinfo, int n) {
    if (n >= PG_NARGS() || PG_ARGISNULL(n)) return std::nullopt;
    return PG_GETARG_INT64(n);
}

std::optional<bool> bool_opt(FunctionCallInfo fcinfo, int n) {
    if (n >= PG_NARGS() || PG_ARGISNULL(n)) return std::nullopt;
    return PG_GETARG_BOOL(n) != 0;
}

bool bool_arg(FunctionCallInfo fcinfo, int n, bool if_null) { return bool_opt(fcinfo, n).value_or(if_null); }

UuidArg uuid_arg(FunctionCallInfo fcinfo, int n) {
    UuidArg a;
    if (n < PG_NARGS() && !PG_ARGISNULL(n)) {
        a.null = false;
        std::memcpy(&a.value, PG_GETARG_UUID_P(n), sizeof(pg_uuid_t));
    }
    return a;
}

pg_uuid_t uuid_required(FunctionCallInfo fcinfo, int n, const char* name) {
    require_arg(fcinfo, n, name);
    return uuid_arg(fcinfo, n).value;
}

std::optional<int64> interval_usecs_opt(FunctionCallInfo fcinfo, int n) {
    if (n >= PG_NARGS() || PG_ARGISNULL(n)) return std::nullopt;
    const Interval* iv = PG_GETARG_INTERVAL_P(n);
    // Saturating: an interval of thousands of years must not wrap around.
    __int128 us = static_cast<__int128>(iv->time) + static_cast<__int128>(iv->day) * USECS_PER_DAY +
                  static_cast<__int128>(iv->month) * 30 * USECS_PER_DAY;
    if (us > PG_INT64_MAX) return PG_INT64_MAX;
    if (us < PG_INT64_MIN) return PG_INT64_MIN;
    return static_cast<int64>(us);
}

std::optional<int64> timestamptz_opt(FunctionCallInfo fcinfo, int n) {
    if (n >= PG_NARGS() || PG_ARGISNULL(n)) return std::nullopt;
    return PG_GETARG_TIMESTAMPTZ(n);
}

}  // namespace ce::pg
