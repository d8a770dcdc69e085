// _boundary_probe(): internal diagnostics that exercise both directions of the
// C++/PostgreSQL boundary. Used by the regression tests; EXECUTE is revoked from
// PUBLIC in the install script.
#include <atomic>
#include <new>
#include <stdexcept>
#include <string>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "pg/args.hpp"


namespace {

long long destructor_runs = 0;

// Counts its destructions: proves that unwinding after a PostgreSQL error ran it.
struct Sentinel {
    std::string payload = std::string(64, 'x');  // owns heap memory, like real code
    ~Sentinel() { ++destructor_runs; }
};

long long run_probe(const std::string& kind, int arg) {
    Sentinel sentinel;
    if (kind == "ok") return arg;
    if (kind == "destructor_count") return destructor_runs;
    if (kind == "core_error")
        throw ce::Error(ce::Errc::invalid_parameter, "probe: invalid parameter from the core",
                        "detail from the core", "hint from the core");
    if (kind == "core_limit") throw ce::Error(ce::Errc::limit_exceeded, "probe: limit exceeded");
    if (kind == "sql_error")
        throw ce::pg::SqlError(CE_ERRCODE_STALE_VERSION, "probe: stale version",
                               R"({"file_id": null, "expected_version": 1, "current_version": 2})");
    if (kind == "bad_alloc") throw std::bad_alloc();
    if (kind == "length_error") throw std::length_error("probe: length");
    if (kind == "std_exception") throw std::runtime_error("probe: runtime_error");
    if (kind == "unknown") throw 42;
    if (kind == "pg_error") {
        ce::pg::pg_call([] {
            ereport(ERROR, (errcode(ERRCODE_DIVISION_BY_ZERO), errmsg("probe: error raised by PostgreSQL"),
                            errdetail("raised inside pg_call"), errhint("the original hint")));
        });
        return -1;
    }
    if (kind == "pg_error_spi") {
        // A PostgreSQL error from a nested query, raised while C++ objects are alive.
        ce::pg::pg_call([] {
            if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
            SPI_execute("SELECT 1 / 0", true, 1);
            SPI_finish();
        });
        return -1;
    }
    if (kind == "spin") {
        // Runs C++ for `arg` milliseconds, checking for interrupts like the core's
        // long loops do; statement_timeout or a cancel stops it with 57014.
        instr_time start, now;
        INSTR_TIME_SET_CURRENT(start);
        long long iterations = 0;
        for (;;) {
            ce::check_interrupts();
            ++iterations;
            INSTR_TIME_SET_CURRENT(now);
            INSTR_TIME_SUBTRACT(now, start);
            if (INSTR_TIME_GET_MILLISEC(now) >= arg) break;
        }
        return iterations;
    }
    throw ce::pg::SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "unknown probe kind \"" + ce::excerpt(kind) + "\"",
                           ce::Detail().add("argument", "kind").add("value", kind));
}
}  // namespace

CE_FUNCTION(ce_boundary_probe) {
    ce::pg::TextArg kind = ce::pg::text_arg(fcinfo, 0, "kind", 64);
    int32 arg = ce::pg::int4_arg(fcinfo, 1, "arg");
    return Int64GetDatum(run_probe(std::string(kind.view()), arg));
}
