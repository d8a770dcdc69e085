#include "pg/spi.hpp"

#include <cstring>


namespace ce::pg {

Spi::Spi() {
    pg_call([] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    });
    connected_ = true;
}

void Spi::finish() {
    if (!connected_) return;
    connected_ = false;
    pg_call([] { SPI_finish(); });
}

Statement::Statement(const char* sql, std::initializer_list<Oid> argtypes) : sql_(sql), argtypes_(argtypes) {}

SPIPlanPtr Statement::plan() {
    if (plan_ == nullptr) {
        const char* sql = sql_;
        int n = static_cast<int>(argtypes_.size());
        Oid* types = argtypes_.data();
        plan_ = pg_call([sql, n, types] {
            SPIPlanPtr p = SPI_prepare(sql, n, types);
            if (p == nullptr) elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
            if (SPI_keepplan(p) != 0) elog(ERROR, "SPI_keepplan failed");
            return p;
        });
    }
    return plan_;
}

Rows Statement::run_latest(const std::vector<Datum>& values, const std::string& nulls) {
    SPIPlanPtr plan = this->plan();
    std::string nullmask = nulls;
    if (nullmask.size() < values.size()) nullmask.resize(values.size(), ' ');
    Datum* vals = const_cast<Datum*>(values.data());
    const char* nl = nullmask.c_str();
    const char* sql = sql_;
    pg_call([plan, vals, nl, sql] {
        int r = SPI_execute_snapshot(plan, vals, nl, GetLatestSnapshot(), InvalidSnapshot, false, false, 0);
        if (r < 0) elog(ERROR, "SPI_execute_snapshot failed (%s) for \"%s\"", SPI_result_code_string(r), sql);
    });
    return Rows(SPI_tuptable, SPI_processed);
}

Rows Statement::run(const std::vector<Datum>& values, const std::string& nulls, bool read_only, long max_rows) {
    SPIPlanPtr plan = this->plan();
    std::string nullmask = nulls;
    if (nullmask.size() < values.size()) nullmask.resize(values.size(), ' ');
    Datum* vals = const_cast<Datum*>(values.data());
    const char* nl = nullmask.c_str();
    const char* sql = sql_;
    pg_call([plan, vals, nl, read_only, max_rows, sql] {
        int r = SPI_execute_plan(plan, vals, nl, read_only, max_rows);
        if (r < 0) elog(ERROR, "SPI_execute_plan failed (%s) for \"%s\"", SPI_result_code_string(r), sql);
    });
    return Rows(SPI_tuptable, SPI_processed);
}

bool Rows::isnull(uint64 row, int col) const {
    bool isnull = true;
    SPITupleTable* t = table_;
    pg_call([t, row, col, &isnull] { (void)SPI_getbinval(t->vals[row], t->tupdesc, col + 1, &isnull); });
    return isnull;
}

Datum Rows::datum(uint64 row, int col) const {
    SPITupleTable* t = table_;
    return pg_call([t, row, col] {
        bool isnull;
        return SPI_getbinval(t->vals[row], t->tupdesc, col + 1, &isnull);
    });
}

std::optional<std::string> Rows::text_opt(uint64 row, int col) const {
    SPITupleTable* t = table_;
    struct Out {
        const char* p;
        int len;
        bool isnull;
    };
    Out out = pg_call([t, row, col] {
        Out o{nullptr, 0, true};
        Datum d = SPI_getbinval(t->vals[row], t->tupdesc, col + 1, &o.isnull);
        if (!o.isnull) {
            ::text* tx = reinterpret_cast<::text*>(PG_DETOAST_DATUM_PACKED(d));
            o.p = VARDATA_ANY(tx);
            o.len = VARSIZE_ANY_EXHDR(tx);
        }
        return o;
    });
    if (out.isnull) return std::nullopt;
    return std::string(out.p, static_cast<std::size_t>(out.len));
}

std::string Rows::text(uint64 row, int col) const {
    auto v = text_opt(row, col);
    return v ? std::move(*v) : std::string();
}

int32 Rows::int4(uint64 row, int col) const {
    SPITupleTable* t = table_;
    return pg_call([t, row, col] {
        bool isnull;
        Datum d = SPI_getbinval(t->vals[row], t->tupdesc, col + 1, &isnull);
        return isnull ? 0 : DatumGetInt32(d);
    });
}

int64 Rows::int8(uint64 row, int col) const {
    SPITupleTable* t = table_;
    return pg_call([t, row, col] {
        bool isnull;
        Datum d = SPI_getbinval(t->vals[row], t->tupdesc, col + 1, &isnull);
        return isnull ? int64(0) : DatumGetInt64(d);
    });
}

bool Rows::boolean(uint64 row, int col) const {
    SPITupleTable* t = table_;
    return pg_call([t, row, col] {
        bool isnull;
        Datum d = SPI_getbinval(t->vals[row], t->tupdesc, col + 1, &isnull);
        return !isnull && DatumGetBool(d);
    });
}

pg_uuid_t Rows::uuid(uint64 row, int col) const {
    SPITupleTable* t = table_;
    return pg_call([t, row, col] {
        pg_uuid_t u;
        std::memset(&u, 0, sizeof(u));
        bool isnull;
        Datum d = SPI_getbinval(t->vals[row], t->tupdesc, col + 1, &isnull);
        if (!isnull) std::memcpy(&u, DatumGetUUIDP(d), sizeof(u));
        return u;
    });
}

Datum text_arg_datum(std::string_view s) { return text_datum(s); }

Datum uuid_datum(const pg_uuid_t& u) {
    const pg_uuid_t* src = &u;
    return pg_call([src] {
        pg_uuid_t* p = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
        std::memcpy(p, src, sizeof(pg_uuid_t));
        return UUIDPGetDatum(p);
    });
}

std::string uuid_to_string(const pg_uuid_t& u) {
    static const char hex[] = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
        s.push_back(hex[u.data[i] >> 4]);
        s.push_back(hex[u.data[i] & 15]);
    }
    return s;
}

}  // namespace ce::pg
