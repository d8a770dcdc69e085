// The boundary between PostgreSQL (C, longjmp) and the C++ code of the extension.
//
// Every SQL-callable C function is declared with CE_FUNCTION, which builds the
// boundary guard into the declaration: the body cannot run outside it. A function
// that runs on the primary only is declared with CE_PRIMARY_FUNCTION: the same
// guard, which first refuses on a hot standby (25006).
//
//     CE_FUNCTION(ce_example) {
//         // Arguments are decoded with the helpers of args.hpp, which throw
//         // SqlError (22004 NULL, 54000 too large, 22023 bad value) and reach
//         // PostgreSQL only through pg_call().
//         TextArg in = text_arg(fcinfo, 0, "content", max_input_bytes());
//         std::string out = ce::something(in.view());
//         // PostgreSQL calls made while C++ objects are alive go through
//         // pg_call(): a PostgreSQL error becomes a PgError exception, unwinds
//         // the C++ frames (destructors run) and is re-raised by the guard with
//         // its original SQLSTATE, message, detail and hint.
//         return text_datum(out);
//     }
//
// The guard runs the body in try/catch (`...` included), classifies the exception
// inside the catch block using only malloc, and raises the PostgreSQL error only
// after the catch block has ended, when no C++ object of the body is alive.
//
// Rules:
//  * Never let a C++ exception escape into PostgreSQL (it terminates the backend
//    and, as a crash, restarts the whole cluster), and never let PostgreSQL longjmp
//    through a C++ frame: no ereport/elog in a body, only throw (SqlError) or
//    pg_call().
//  * The lambda passed to pg_call() may only call C functions of PostgreSQL: it must
//    not itself own C++ objects with destructors (a longjmp leaves it).
//  * Never catch ce::pg::PgError outside the guard: a PostgreSQL error that was
//    caught must abort the transaction, so it is always re-raised. (The one place
//    that continues after a PostgreSQL error is subtransaction(), which rolls back
//    a subtransaction first.)
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "concurrent_edit/error.hpp"
#include "pg/pg_headers.hpp"
#include "pg/sqlstates.hpp"

namespace ce::pg {

// A PostgreSQL error captured by pg_call(). Not a std::exception on purpose, so that
// generic handlers in C++ code cannot swallow it; the guard re-raises it unchanged.
class PgError final {
public:
    explicit PgError(ErrorData* edata) noexcept : edata_(edata) {}
    ErrorData* edata() const noexcept { return edata_; }

private:
    ErrorData* edata_;
};

// An SQL error raised by glue code (instead of ereport). The detail of a VC error
// is a JSON object (docs/errors.md).
class SqlError : public std::exception {
public:
    SqlError(int sqlerrcode, std::string message, std::string detail = {}, std::string hint = {})
        : sqlerrcode_(sqlerrcode), message_(std::move(message)), detail_(std::move(detail)),
          hint_(std::move(hint)) {}
    const char* what() const noexcept override { return message_.c_str(); }
    int sqlerrcode() const noexcept { return sqlerrcode_; }
    const std::string& detail() const noexcept { return detail_; }
    const std::string& hint() const noexcept { return hint_; }

private:
    int sqlerrcode_;
    std::string message_;
    std::string detail_;
    std::string hint_;
};

namespace detail {

// What to raise once the catch block has ended. Plain data only.
struct Failure {
    int sqlerrcode = 0;
    ErrorData* pg_error = nullptr;  // re-raised as is when set
    char* message = nullptr;        // malloc'd copies (no PostgreSQL call inside catch)
    char* detail = nullptr;
    char* hint = nullptr;
    const char* fallback = nullptr;  // static text used when malloc failed
};

// Classifies the exception being handled; must be called inside a catch block.
void capture_current_exception(Failure& failure) noexcept;
// Raises the captured failure as a PostgreSQL error. Call outside any catch block.
[[noreturn]] void raise_failure(Failure& failure);

// Memory context in which captured PostgreSQL errors are copied (outlives the guard).
extern MemoryContext error_context;
// Calls fn(arg) inside PG_TRY; returns the copied error, or nullptr on success.
ErrorData* run_pg_try(void (*fn)(void*), void* arg);

// The user identity in force when a guard was entered: restored before the error
// is raised, so no error path leaves the extension owner's identity in place.
struct Identity {
    Oid user;
    int sec_context;
};
Identity current_identity() noexcept;
void restore_identity(const Identity& id) noexcept;

}  // namespace detail

// Runs `body` (returning a Datum) with every C++ exception caught and turned into
// a PostgreSQL error after the catch block. CE_FUNCTION uses it; glue code that
// PostgreSQL calls by other routes (transaction callbacks, workers) uses it too.
template <typename Body>
Datum guard(Body&& body) {
    detail::Failure failure;
    const detail::Identity identity = detail::current_identity();
    MemoryContext saved = detail::error_context;
    detail::error_context = CurrentMemoryContext;
    try {
        Datum result = body();
        detail::error_context = saved;
        return result;
    } catch (...) {
        detail::capture_current_exception(failure);
    }
    detail::error_context = saved;
    detail::restore_identity(identity);
    detail::raise_failure(failure);
}

// Runs PostgreSQL code that may ereport() while C++ objects are alive. An ERROR
// becomes a PgError exception carrying the copied ErrorData. The PG_TRY block lives
// in detail::run_pg_try (one plain C-like frame); `f` is reached through a thunk.
template <typename F>
auto pg_call(F&& f) -> decltype(f()) {
    using Fn = std::remove_reference_t<F>;
    using R = decltype(f());
    static_assert(std::is_void_v<R> || std::is_trivially_copyable_v<R>,
                  "pg_call returns plain values only");
    if constexpr (std::is_void_v<R>) {
        ErrorData* edata = detail::run_pg_try([](void* p) { (*static_cast<Fn*>(p))(); }, &f);
        if (edata != nullptr) throw PgError(edata);
    } else {
        struct Frame {
            Fn* fn;
            R result;
        } frame{&f, R{}};
        ErrorData* edata = detail::run_pg_try(
            [](void* p) {
                auto* fr = static_cast<Frame*>(p);
                fr->result = (*fr->fn)();
            },
            &frame);
        if (edata != nullptr) throw PgError(edata);
        return frame.result;
    }
}

namespace detail {
struct SubxactState {
    MemoryContext memory;
    ResourceOwner owner;
};
SubxactState begin_subtransaction();
void commit_subtransaction(const SubxactState& st);
void rollback_subtransaction(const SubxactState& st);
}  // namespace detail

// Runs `body` in a subtransaction that is always rolled back: whatever it wrote,
// recorded or queued is undone (preview_write). An error rolls back and propagates.
template <typename Body>
void rolled_back_subtransaction(Body&& body) {
    const detail::SubxactState st = detail::begin_subtransaction();
    try {
        body();
    } catch (...) {
        detail::rollback_subtransaction(st);
        throw;
    }
    detail::rollback_subtransaction(st);
}

// Runs `body` in a subtransaction that is kept when `body` returns true and rolled
// back when it returns false (write_many's all-or-nothing). An error rolls back and
// propagates.
template <typename Body>
bool subtransaction_if(Body&& body) {
    const detail::SubxactState st = detail::begin_subtransaction();
    bool keep;
    try {
        keep = body();
    } catch (...) {
        detail::rollback_subtransaction(st);
        throw;
    }
    if (keep) detail::commit_subtransaction(st);
    else detail::rollback_subtransaction(st);
    return keep;
}

// Runs `body` in a subtransaction that is kept when it returns. A PostgreSQL error
// with SQLSTATE `sqlstate` rolls it back (undoing what it did, as a PL/pgSQL
// EXCEPTION block) and returns false, so the caller can report the failure its own
// way; any other error rolls back and propagates.
template <typename Body>
bool subtransaction_unless(int sqlstate, Body&& body) {
    const detail::SubxactState st = detail::begin_subtransaction();
    try {
        body();
    } catch (const PgError& e) {
        const bool expected = e.edata()->sqlerrcode == sqlstate;
        detail::rollback_subtransaction(st);
        if (expected) return false;
        throw;
    } catch (...) {
        detail::rollback_subtransaction(st);
        throw;
    }
    detail::commit_subtransaction(st);
    return true;
}

// Whether an error is the data's own (SQLSTATE class 22, data exception, or 23,
// integrity constraint violation): the background tasks set such an input aside
// (a pending event, a spooled conflict) and retry any other failure later.
inline bool is_bad_data(int sqlerrcode) {
    int cls = ERRCODE_TO_CATEGORY(sqlerrcode);
    return cls == ERRCODE_DATA_EXCEPTION || cls == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION;
}

// Background workers only (no client to report to): runs fn(arg), which starts and
// commits its own transaction; a PostgreSQL error in it is written to the log, its
// transaction aborted, and false returned, so the worker carries on. fn's C++ code
// goes through guard() as everywhere; no C++ object may live between this call and
// the PG_TRY inside it.
// `*sqlerrcode`, when given, receives the error's SQLSTATE.
bool run_reporting_errors(void (*fn)(void*), void* arg, int* sqlerrcode = nullptr);
template <typename F>
bool run_reporting_errors(F& f, int* sqlerrcode = nullptr) {
    return run_reporting_errors([](void* p) { (*static_cast<F*>(p))(); }, &f, sqlerrcode);
}

// An error caught by subtransaction().
struct CaughtError {
    int sqlerrcode = 0;
    std::string message;
    std::string detail;
};

// Runs `body` in a subtransaction: on success it is released (its work kept); an
// error of PostgreSQL or of the glue inside it rolls the subtransaction back and is
// returned as false with its SQLSTATE and message in *error (the only place a PostgreSQL error
// is caught and not re-raised: its effects are undone by the rollback, as in a
// PL/pgSQL EXCEPTION block). Other exceptions roll back and propagate.
template <typename Body>
bool subtransaction(Body&& body, CaughtError* error) {
    const detail::SubxactState st = detail::begin_subtransaction();
    try {
        body();
    } catch (const PgError& e) {
        if (error) *error = CaughtError{e.edata()->sqlerrcode, e.edata()->message ? e.edata()->message : "error",
                                        e.edata()->detail ? e.edata()->detail : ""};
        detail::rollback_subtransaction(st);
        return false;
    } catch (const SqlError& e) {
        if (error) *error = CaughtError{e.sqlerrcode(), e.what(), e.detail()};
        detail::rollback_subtransaction(st);
        return false;
    } catch (...) {
        detail::rollback_subtransaction(st);
        throw;
    }
    detail::commit_subtransaction(st);
    return true;
}

// CHECK_FOR_INTERRUPTS() for C++ code: cancel and statement_timeout become a PgError
// (SQLSTATE 57014) that unwinds the C++ frames. Installed as the core's interrupt hook.
inline void check_interrupts() {
    if (unlikely(InterruptPending)) pg_call([] { CHECK_FOR_INTERRUPTS(); });
}

// A memory context of its own (a child of the current one) for what one read
// allocates, such as a detoasted text or a chain of versions: run_in() makes it
// current while the read runs, and the caller deletes it with drop_context() once
// it copied what it needs, instead of leaving it in the call's context to the end
// of the call. After an error it goes with its parent. `name` must be a string
// literal; `small`: ALLOCSET_SMALL_SIZES, else ALLOCSET_DEFAULT_SIZES.
inline MemoryContext own_context(const char* name, bool small) {
    return pg_call([name, small] {
        return small ? AllocSetContextCreateInternal(CurrentMemoryContext, name, ALLOCSET_SMALL_SIZES)
                     : AllocSetContextCreateInternal(CurrentMemoryContext, name, ALLOCSET_DEFAULT_SIZES);
    });
}
// Runs `read` (PostgreSQL calls only, as in pg_call) with `memory` current.
template <typename F>
auto run_in(MemoryContext memory, F&& read) -> decltype(read()) {
    return pg_call([memory, &read] {
        MemoryContext caller = MemoryContextSwitchTo(memory);
        auto result = read();
        MemoryContextSwitchTo(caller);
        return result;
    });
}
inline void drop_context(MemoryContext memory) {
    pg_call([memory] { MemoryContextDelete(memory); });
}

// A text Datum (palloc'd in the current memory context) holding `s`.
Datum text_datum(std::string_view s);

// Throws SqlError 25006 when the server is a hot standby (in recovery): the
// functions that run on the primary only, declared with CE_PRIMARY_FUNCTION (those
// that write, and those that read the unlogged lock leases), refuse before they
// read an argument, with a hint naming the primary (host and port only). scale_out.cpp.
void refuse_on_standby(const char* function);

}  // namespace ce::pg

// Declares an SQL-callable C function (C linkage, default visibility) whose body
// runs inside the boundary guard. The body sees `fcinfo`.
#define CE_FUNCTION(name) CE_GUARDED_FUNCTION_(name, (void)0)

// Declares an SQL-callable C function that runs on the primary only (it writes, or
// reads the lock leases, which are unlogged): as CE_FUNCTION, and on a hot standby
// it fails at once with 25006 (read-only transaction), naming the primary.
// `sql_name` is the function's SQL name, for the message.
#define CE_PRIMARY_FUNCTION(name, sql_name) CE_GUARDED_FUNCTION_(name, ::ce::pg::refuse_on_standby(sql_name))

// The two above: `first` runs inside the guard, before the body.
#define CE_GUARDED_FUNCTION_(name, first)                                                   \
    static Datum name##_body(FunctionCallInfo fcinfo);                                      \
    extern "C" PGDLLEXPORT Datum name(PG_FUNCTION_ARGS);                                    \
    extern "C" {                                                                            \
    PG_FUNCTION_INFO_V1(name);                                                              \
    }                                                                                       \
    Datum name(PG_FUNCTION_ARGS) {                                                          \
        return ::ce::pg::guard([fcinfo] {                                                   \
            first;                                                                          \
            return name##_body(fcinfo);                                                     \
        });                                                                                 \
    }                                                                                       \
    static Datum name##_body(FunctionCallInfo fcinfo)
