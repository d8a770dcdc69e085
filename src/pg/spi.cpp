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
    ++generation_;
    pg_call([] { SPI_finish(); });
}

uint64 Spi::next_generation() {
    if (!connected_)
        throw SqlError(CE_ERRCODE_INTERNAL, "internal error in concurrent_edit: SPI statement after finish()",
                       ce::Detail().add("check", "spi_connected"),
                       "This is a bug in concurrent_edit; please report it with the statement that caused it.");
    return ++generation_;
}

// Every statement the extension runs is parsed and planned with search_path
// pinned to pg_catalog, pg_temp (a function's SET, OwnerContext or
// PinnedSearchPath): an operator or function a caller planted earlier in the
// path would otherwise resolve in our statements and run with our rights. A
// statement reached without it is a bug of ours; it is refused before it is
// prepared or run.
void require_pinned_search_path(const char* sql) {
    if (namespace_search_path != nullptr && std::strcmp(namespace_search_path, "pg_catalog, pg_temp") == 0) return;
    throw SqlError(CE_ERRCODE_INTERNAL, "internal error in concurrent_edit: a statement without the pinned search_path",
                   ce::Detail().add("check", "pinned_search_path").add("statement", std::string(sql).substr(0, 200)),
                   "This is a bug in concurrent_edit; please report it with the statement that caused it.");
}

void Spi::execute(const std::string& sql) {
    require_pinned_search_path(sql.c_str());
    next_generation();
    const char* q = sql.c_str();
    pg_call([q] {
        int rc = SPI_execute(q, false, 0);
        if (rc < 0) elog(ERROR, "SPI_execute failed (%s) for \"%s\"", SPI_result_code_string(rc), q);
    });
}

// ---------------------------------------------------------------------------

Rows::Rows(const Spi& spi, SPITupleTable* table, uint64 count)
    : spi_(&spi), generation_(spi.generation()), table_(table), count_(count) {}

void Rows::check() const {
    if (spi_->generation() != generation_ || !spi_->connected())
        throw SqlError(CE_ERRCODE_INTERNAL,
                       "internal error in concurrent_edit: an SPI result was used after its statement ended",
                       ce::Detail().add("check", "spi_result_current"),
                       "This is a bug in concurrent_edit; please report it with the statement that caused it.");
}

void Rows::release() {
    check();
    SPITupleTable* t = table_;
    if (t != nullptr) pg_call([t] { SPI_freetuptable(t); });
    table_ = nullptr;
    count_ = 0;
}

void Rows::check_cell(uint64 row, int col) const {
    check();
    if (row >= count_ || table_ == nullptr || col < 0 || col >= table_->tupdesc->natts)
        throw SqlError(CE_ERRCODE_INTERNAL, "internal error in concurrent_edit: SPI result cell out of range",
                       ce::Detail().add("check", "spi_cell").add("row", static_cast<unsigned long long>(row)).add("column", col));
}

uint64 Rows::size() const {
    check();
    return count_;
}

TupleDesc Rows::tupdesc() const {
    check();
    return table_ ? table_->tupdesc : nullptr;
}

HeapTuple Rows::tuple(uint64 row) const {
    check_cell(row, 0);
    return table_->vals[row];
}

bool Rows::isnull(uint64 row, int col) const {
    check_cell(row, col);
    bool isnull = true;
    SPITupleTable* t = table_;
    pg_call([t, row, col, &isnull] { (void)SPI_getbinval(t->vals[row], t->tupdesc, col + 1, &isnull); });
    return isnull;
}

Datum Rows::value(uint64 row, int col, bool* isnull) const {
    check_cell(row, col);
    if (!TupleDescAttr(table_->tupdesc, col)->attbyval)
        throw SqlError(CE_ERRCODE_INTERNAL,
                       "internal error in concurrent_edit: a pass-by-reference SPI value was used without a copy",
                       ce::Detail().add("check", "spi_value_by_value").add("column", col));
    SPITupleTable* t = table_;
    bool n = true;
    Datum d = pg_call([t, row, col, &n] { return SPI_getbinval(t->vals[row], t->tupdesc, col + 1, &n); });
    if (isnull) *isnull = n;
    return n ? Datum(0) : d;
}

Datum Rows::copy(uint64 row, int col, MemoryContext into, bool* isnull) const {
    check_cell(row, col);
    SPITupleTable* t = table_;
    bool n = true;
    Form_pg_attribute a = TupleDescAttr(t->tupdesc, col);
    bool byval = a->attbyval;
    int len = a->attlen;
    Datum d = pg_call([t, row, col, &n, into, byval, len] {
        Datum v = SPI_getbinval(t->vals[row], t->tupdesc, col + 1, &n);
        if (n || byval) return v;
        MemoryContext old = MemoryContextSwitchTo(into);
        // Detoasted as it is copied: the copy must not point into TOAST either.
        Datum c = len == -1 ? PointerGetDatum(PG_DETOAST_DATUM_COPY(v)) : datumCopy(v, byval, len);
        MemoryContextSwitchTo(old);
        return c;
    });
    if (isnull) *isnull = n;
    return n ? Datum(0) : d;
}

std::optional<std::string> Rows::text_opt(uint64 row, int col) const {
    check_cell(row, col);
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
    bool n;
    Datum d = value(row, col, &n);
    return n ? 0 : DatumGetInt32(d);
}

int64 Rows::int8(uint64 row, int col) const {
    bool n;
    Datum d = value(row, col, &n);
    return n ? 0 : DatumGetInt64(d);
}

bool Rows::boolean(uint64 row, int col) const {
    bool n;
    Datum d = value(row, col, &n);
    return !n && DatumGetBool(d);
}

Oid Rows::oid(uint64 row, int col) const {
    bool n;
    Datum d = value(row, col, &n);
    return n ? InvalidOid : DatumGetObjectId(d);
}

pg_uuid_t Rows::uuid(uint64 row, int col) const {
    check_cell(row, col);
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

// ---------------------------------------------------------------------------

namespace {

// IndexScansOnly objects alive in this backend. A transaction's abort sets it back
// to 0: none can outlive the error that ended it (the boundary guard raises after
// every C++ object of the call is gone).
int index_scans_only = 0;
planner_hook_type prev_planner_hook = nullptr;

PlannedStmt* next_planner(Query* parse, const char* query_string, int cursor_options, ParamListInfo params) {
    return prev_planner_hook != nullptr ? prev_planner_hook(parse, query_string, cursor_options, params)
                                        : standard_planner(parse, query_string, cursor_options, params);
}

PlannedStmt* index_scans_planner(Query* parse, const char* query_string, int cursor_options, ParamListInfo params) {
    if (index_scans_only <= 0) return next_planner(parse, query_string, cursor_options, params);
    bool seqscan = enable_seqscan, bitmapscan = enable_bitmapscan, hashjoin = enable_hashjoin,
         mergejoin = enable_mergejoin, jit = jit_enabled;
    enable_seqscan = enable_bitmapscan = enable_hashjoin = enable_mergejoin = jit_enabled = false;
    PlannedStmt* result = nullptr;
    PG_TRY();
    { result = next_planner(parse, query_string, cursor_options, params); }
    PG_FINALLY();
    {
        enable_seqscan = seqscan;
        enable_bitmapscan = bitmapscan;
        enable_hashjoin = hashjoin;
        enable_mergejoin = mergejoin;
        jit_enabled = jit;
    }
    PG_END_TRY();
    return result;
}

void index_scans_xact_callback(XactEvent event, void*) {
    if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) index_scans_only = 0;
}

}  // namespace

void install_planner_hook() {
    prev_planner_hook = planner_hook;
    planner_hook = index_scans_planner;
    RegisterXactCallback(index_scans_xact_callback, nullptr);
}

IndexScansOnly::IndexScansOnly(bool active) : active_(active) {
    if (active_) ++index_scans_only;
}

IndexScansOnly::~IndexScansOnly() {
    if (active_ && index_scans_only > 0) --index_scans_only;
}

Statement::Statement(const char* sql, std::initializer_list<Oid> argtypes, Scans scans)
    : sql_(sql), argtypes_(argtypes), scans_(scans) {}
Statement::Statement(std::string sql, std::vector<Oid> argtypes) : sql_(std::move(sql)), argtypes_(std::move(argtypes)) {}

void Statement::free_plan() {
    if (plan_ == nullptr) return;
    SPIPlanPtr p = plan_;
    plan_ = nullptr;
    pg_call([p] { (void)SPI_freeplan(p); });
}

SPIPlanPtr Statement::plan() {
    if (plan_ == nullptr) {
        const char* sql = sql_.c_str();
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

Rows Statement::run_latest(Spi& spi, const std::vector<Datum>& values, const std::string& nulls, bool read_only) {
    return execute(spi, values, nulls, true, read_only, 0);
}

Rows Statement::run(Spi& spi, const std::vector<Datum>& values, const std::string& nulls, bool read_only,
                    long max_rows) {
    return execute(spi, values, nulls, false, read_only, max_rows);
}

Rows Statement::execute(Spi& spi, const std::vector<Datum>& values, const std::string& nulls, bool latest,
                        bool read_only, long max_rows) {
    require_pinned_search_path(sql_.c_str());
    spi.next_generation();  // every Rows of an earlier statement is dead from here
    SPIPlanPtr plan = this->plan();
    std::string nullmask = nulls;
    if (nullmask.size() < values.size()) nullmask.resize(values.size(), ' ');
    Datum* vals = const_cast<Datum*>(values.data());
    const char* nl = nullmask.c_str();
    const char* sql = sql_.c_str();
    struct Result {
        SPITupleTable* table;
        uint64 count;
    };
    IndexScansOnly scans(scans_ == Scans::by_key);
    Result r = pg_call([plan, vals, nl, latest, read_only, max_rows, sql] {
        int rc = latest ? SPI_execute_snapshot(plan, vals, nl, GetLatestSnapshot(), InvalidSnapshot, read_only, false, 0)
                        : SPI_execute_plan(plan, vals, nl, read_only, max_rows);
        if (rc < 0) elog(ERROR, "SPI execution failed (%s) for \"%s\"", SPI_result_code_string(rc), sql);
        return Result{SPI_tuptable, SPI_processed};
    });
    return Rows(spi, r.table, r.count);
}

void Statement::each_batch(Spi& spi, const std::vector<Datum>& values, bool read_only,
                           const std::function<void(Rows&)>& each, long batch) {
    require_pinned_search_path(sql_.c_str());
    spi.next_generation();
    SPIPlanPtr plan = this->plan();
    std::string nullmask(values.size(), ' ');
    Datum* vals = const_cast<Datum*>(values.data());
    const char* nl = nullmask.c_str();
    IndexScansOnly scans(scans_ == Scans::by_key);
    Portal portal = pg_call([plan, vals, nl, read_only] {
        Portal p = SPI_cursor_open(nullptr, plan, vals, nl, read_only);
        if (p == nullptr) elog(ERROR, "SPI_cursor_open failed: %s", SPI_result_code_string(SPI_result));
        return p;
    });
    for (;;) {
        check_interrupts();
        spi.next_generation();
        uint64 n = pg_call([portal, batch] {
            SPI_cursor_fetch(portal, true, batch);
            return SPI_processed;
        });
        Rows rows(spi, SPI_tuptable, n);
        if (n == 0) break;
        each(rows);
        rows.release();
    }
    pg_call([portal] { SPI_cursor_close(portal); });
}

Datum uuid_datum(const pg_uuid_t& u) {
    const pg_uuid_t* src = &u;
    return pg_call([src] {
        pg_uuid_t* p = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
        std::memcpy(p, src, sizeof(pg_uuid_t));
        return UUIDPGetDatum(p);
    });
}

}  // namespace ce::pg
