// One way to build the results of SQL-callable functions: a composite value of the
// function's declared result type (Record), or a materialized set of such rows
// (SetResult). Values are built in the function's memory context, after SPI has
// finished or by copying out of SPI (add_rows), never pointing into SPI memory.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pg/spi.hpp"

namespace ce::pg {

class Record {
public:
    // The function's result descriptor, blessed once and cached in fn_extra.
    explicit Record(FunctionCallInfo fcinfo);
    void set(int column, Datum value) {
        values_.at(column) = value;
        nulls_[column] = false;
    }
    void set_null(int column) { nulls_.at(column) = true; }
    Datum datum();

private:
    TupleDesc desc_;
    std::vector<Datum> values_;
    std::vector<char> nulls_;  // char, not bool: vector<bool> has no data()
};

class SetResult {
public:
    explicit SetResult(FunctionCallInfo fcinfo);  // materialized SRF (InitMaterializedSRF)
    int columns() const { return natts_; }
    void add(const std::vector<Datum>& values, const std::vector<char>& nulls);
    // Appends every row of `rows`, whose columns must be those of the result;
    // column `replace` (when >= 0) takes the value `replacement` instead.
    // Columns of `rows` past the result's are left out.
    void add_rows(const Rows& rows, int replace = -1, Datum replacement = Datum(0));
    // Appends every row `q` returns, a batch at a time (Statement::each_batch): a
    // listing whose size other roles decide (sessions, editors, drafts) takes
    // bounded memory.
    void add_all(Statement& q, Spi& spi, const std::vector<Datum>& values, bool read_only = true) {
        q.each_batch(spi, values, read_only, [this](Rows& rows) { add_rows(rows); });
    }
    Datum done() { return Datum(0); }

private:
    FunctionCallInfo fcinfo_;
    int natts_;
};

// Arrays built in the current memory context.
Datum uuid_array_datum(const std::vector<pg_uuid_t>& ids);
Datum int4_array_datum(const std::vector<int32>& items);
Datum text_array_datum(const std::vector<std::string>& items);

}  // namespace ce::pg
