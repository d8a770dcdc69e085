// SPI for C++ glue code: statements prepared once and kept (SPI_keepplan), every
// SPI call made through pg_call() so a PostgreSQL error unwinds the C++ frames.
//
// Lifetimes are checked, not trusted: a Rows (one statement's result) is valid
// until the next statement of the same connection runs or the connection
// finishes; every accessor checks that and throws VC999 otherwise. Its values
// are copied out (text(), uuid(), ...); raw Datums are handed out only for
// pass-by-value columns (value()) or copied into a memory context that outlives
// SPI (copy(), what SPI_datumTransfer does). So nothing SPI allocated is read
// after SPI_finish frees it.
//
//     Spi spi;                                   // SPI_connect
//     static Statement q("SELECT ... WHERE id = $1", {UUIDOID});
//     Rows rows = q.run(spi, {uuid_datum(id)});
//     std::string s = rows.text(0, 0);           // a copy
//     spi.finish();                              // SPI_finish; `rows` is dead now
//
// On an exception SPI is left connected: the transaction abort cleans it up, as
// for any error raised inside a C function.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/args.hpp"
#include "pg/boundary.hpp"

namespace ce::pg {

// Raises (CE_ERRCODE_INTERNAL) unless search_path is pinned to pg_catalog,
// pg_temp: every statement the extension prepares or runs goes through it.
void require_pinned_search_path(const char* sql);

class Spi {
public:
    Spi();
    Spi(const Spi&) = delete;
    Spi& operator=(const Spi&) = delete;
    ~Spi() = default;  // no SPI call in a destructor: it could run during unwinding
    void finish();
    bool connected() const noexcept { return connected_; }
    uint64 generation() const noexcept { return generation_; }
    // A new statement is about to run: results of the previous one die.
    uint64 next_generation();
    // Runs a statement given as text, without parameters (utility statements the
    // glue builds, e.g. GRANT with a quoted role name).
    void execute(const std::string& sql);

private:
    bool connected_ = false;
    uint64 generation_ = 0;
};

// Result of one statement (SPI_tuptable), valid until the next statement of its
// connection or its finish().
class Rows {
public:
    Rows(const Spi& spi, SPITupleTable* table, uint64 count);
    uint64 size() const;
    bool empty() const { return size() == 0; }
    bool isnull(uint64 row, int col) const;
    std::string text(uint64 row, int col) const;  // copy of a text column ("" when NULL)
    std::optional<std::string> text_opt(uint64 row, int col) const;
    int32 int4(uint64 row, int col) const;        // 0 when NULL
    int64 int8(uint64 row, int col) const;        // 0 when NULL
    bool boolean(uint64 row, int col) const;      // false when NULL
    pg_uuid_t uuid(uint64 row, int col) const;    // all-zero when NULL
    Oid oid(uint64 row, int col) const;           // InvalidOid when NULL
    // The Datum of a pass-by-value column (timestamptz, int8...); VC999 for a
    // pass-by-reference one (use copy()).
    Datum value(uint64 row, int col, bool* isnull = nullptr) const;
    // The Datum copied into `into` (a context that outlives SPI_finish).
    Datum copy(uint64 row, int col, MemoryContext into, bool* isnull = nullptr) const;
    // Plain data of the whole result (column count and the row descriptor) for
    // code that copies rows out (results.hpp).
    TupleDesc tupdesc() const;
    HeapTuple tuple(uint64 row) const;
    // Frees the result now (SPI_freetuptable) instead of at finish(): for loops that
    // read a large result batch by batch. The Rows is empty afterwards.
    void release();

private:
    void check() const;
    void check_cell(uint64 row, int col) const;
    const Spi* spi_;
    uint64 generation_;
    SPITupleTable* table_;
    uint64 count_;
};

// While one lives, statements are planned with index scans and nested loops only
// (as with enable_seqscan, enable_bitmapscan, enable_hashjoin and enable_mergejoin
// off). For queues whose statistics say "empty" while they are mostly dead tuples,
// and for key lookups on tables that grew since their last ANALYZE: a backend keeps
// a statement's generic plan, so a plan chosen while a table was small (a
// sequential scan, or a hash join reading every version of a file at each step of a
// delta chain: measured, writes slowed down as the history grew in a fresh cluster)
// would stay until the table is analyzed. Such a plan is never compiled with JIT
// (jit off while it is planned): a table scanned without an index (no index fits)
// costs the planner's penalty for a disabled scan, far above jit_above_cost, and
// each execution compiled the plan, some 250 ms here.
//
// The settings are applied by our planner hook, only while a statement is planned
// (most executions reuse a cached plan and plan nothing), not set as GUCs at every
// execution: setting and restoring four GUCs cost about 2 % of a write's CPU. It
// only counts: no PostgreSQL call, also when it is destroyed by an error.
class IndexScansOnly {
public:
    explicit IndexScansOnly(bool active = true);
    IndexScansOnly(const IndexScansOnly&) = delete;
    IndexScansOnly& operator=(const IndexScansOnly&) = delete;
    ~IndexScansOnly();

private:
    bool active_ = false;
};
// Installs the planner hook behind IndexScansOnly (_PG_init).
void install_planner_hook();

enum class Scans { any, by_key };

class Statement {
public:
    // Scans::by_key: the statement looks rows up by (a prefix of) a key, or by
    // ctid; it is run under IndexScansOnly, whatever the statistics of its tables
    // say.
    Statement(const char* sql, std::initializer_list<Oid> argtypes, Scans scans = Scans::any);
    Statement(std::string sql, std::vector<Oid> argtypes);  // built at run time (per relation)
    // Executes with the given arguments; nulls[i] == 'n' marks a NULL (as SPI does).
    Rows run(Spi& spi, const std::vector<Datum>& values, const std::string& nulls = {}, bool read_only = false,
             long max_rows = 0);
    // Runs with the latest snapshot (sees everything committed so far, whatever the
    // isolation level), as foreign-key checks do. `read_only`: as in run() (no
    // command counter increment; for reads made inside queries, parallel ones too).
    Rows run_latest(Spi& spi, const std::vector<Datum>& values, const std::string& nulls = {},
                    bool read_only = false);

    // Runs it through a cursor and passes its rows to `each` in batches of at most
    // `batch` rows, each batch freed once `each` returned: the memory stays
    // bounded however many rows the statement returns (a sort goes to disk beyond
    // work_mem). Checks for interrupts between batches.
    void each_batch(Spi& spi, const std::vector<Datum>& values, bool read_only, const std::function<void(Rows&)>& each,
                    long batch = 1000);

    // Frees the prepared plan (a statement built at run time that is replaced).
    void free_plan();

private:
    SPIPlanPtr plan();
    Rows execute(Spi& spi, const std::vector<Datum>& values, const std::string& nulls, bool latest, bool read_only,
                 long max_rows);
    std::string sql_;
    std::vector<Oid> argtypes_;
    SPIPlanPtr plan_ = nullptr;
    Scans scans_ = Scans::any;
};

// Datum helpers that allocate in the current memory context (pg_call inside).
Datum uuid_datum(const pg_uuid_t& u);

}  // namespace ce::pg
