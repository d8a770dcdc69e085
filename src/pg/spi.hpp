// SPI for C++ glue code: statements prepared once and kept (SPI_keepplan), every
// SPI call made through pg_call() so a PostgreSQL error unwinds the C++ frames.
//
// Usage (inside ce::pg::guard):
//     static ce::pg::Statement q("SELECT ... WHERE id = $1", {UUIDOID});
//     ce::pg::Spi spi;                       // SPI_connect
//     auto rows = q.run({UUIDPGetDatum(id)}, ...);
//     std::string s = rows.text(0, 0);        // copies out of SPI memory
//     spi.finish();                           // SPI_finish on success
// On an exception SPI is left connected: the transaction abort cleans it up, as
// for any error raised inside a C function.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/boundary.hpp"

namespace ce::pg {

class Spi {
public:
    Spi();
    void finish();
    ~Spi() = default;  // no SPI call in a destructor: it could run during unwinding

private:
    bool connected_ = false;
};

// Result of one statement: SPI_tuptable, valid until the next statement or finish().
class Rows {
public:
    Rows(SPITupleTable* table, uint64 count) : table_(table), count_(count) {}
    uint64 size() const { return count_; }
    bool empty() const { return count_ == 0; }
    bool isnull(uint64 row, int col) const;
    Datum datum(uint64 row, int col) const;            // raw (may be toasted)
    std::string text(uint64 row, int col) const;        // copy of a text column ("" when NULL)
    std::optional<std::string> text_opt(uint64 row, int col) const;
    int32 int4(uint64 row, int col) const;              // 0 when NULL
    int64 int8(uint64 row, int col) const;
    bool boolean(uint64 row, int col) const;
    pg_uuid_t uuid(uint64 row, int col) const;          // all-zero when NULL

private:
    SPITupleTable* table_;
    uint64 count_;
};

class Statement {
public:
    Statement(const char* sql, std::initializer_list<Oid> argtypes);
    // Executes with the given arguments; nulls[i] == 'n' marks a NULL (as SPI does).
    Rows run(const std::vector<Datum>& values, const std::string& nulls = {}, bool read_only = false,
             long max_rows = 0);
    // Runs with the latest snapshot (sees everything committed so far, whatever the
    // isolation level), as foreign-key checks do.
    Rows run_latest(const std::vector<Datum>& values, const std::string& nulls = {});

private:
    SPIPlanPtr plan();
    const char* sql_;
    std::vector<Oid> argtypes_;
    SPIPlanPtr plan_ = nullptr;
};

// Datum helpers that allocate (pg_call inside).
Datum text_arg_datum(std::string_view s);
Datum uuid_datum(const pg_uuid_t& u);
inline bool uuid_is_null(const pg_uuid_t& u) {
    for (unsigned char b : u.data)
        if (b) return false;
    return true;
}
std::string uuid_to_string(const pg_uuid_t& u);

}  // namespace ce::pg
