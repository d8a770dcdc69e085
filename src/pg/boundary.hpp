// The boundary between PostgreSQL (C, longjmp) and the C++ code of the extension.
//
// Every SQL-callable C function of the extension has this shape:
//
//     CE_FUNCTION(ce_example) {
//         // 1. read arguments into plain locals; ereport is allowed here because no
//         //    C++ object with a destructor exists yet.
//         ce::pg::TextArg in = ce::pg::text_arg(fcinfo, 0, "content");
//         // 2. run C++ inside the boundary; it catches every exception ("..." too),
//         //    maps its kind to a SQLSTATE and raises only after its catch block has
//         //    ended, when no C++ object is alive any more.
//         return ce::pg::guard([&]() -> Datum {
//             std::string out = ce::something(in.view());
//             // 3. PostgreSQL calls made while C++ objects are alive go through
//             //    pg_call(): a PostgreSQL error becomes a ce::pg::PgError exception,
//             //    unwinds the C++ frames (destructors run) and is re-raised by
//             //    guard() with its original SQLSTATE, message, detail and hint.
//             return ce::pg::text_datum(out);
//         });
//     }
//
// Rules:
//  * Never let a C++ exception escape into PostgreSQL (it terminates the backend
//    and, as a crash, restarts the whole cluster), and never let PostgreSQL longjmp
//    through a C++ frame that owns objects with destructors.
//  * The lambda passed to pg_call() may only call C functions of PostgreSQL: it must
//    not itself own C++ objects with destructors (a longjmp leaves it).
//  * Never catch ce::pg::PgError outside guard(): a PostgreSQL error that was caught
//    must abort the transaction, so it is always re-raised.
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "pg/pg_headers.hpp"

namespace ce::pg {

// A PostgreSQL error captured by pg_call(). Not a std::exception on purpose, so that
// generic handlers in C++ code cannot swallow it; guard() re-raises it unchanged.
class PgError final {
public:
    explicit PgError(ErrorData* edata) noexcept : edata_(edata) {}
    ErrorData* edata() const noexcept { return edata_; }

private:
    ErrorData* edata_;
};

// An SQL error raised by glue code while C++ objects are alive (instead of ereport).
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

// SQLSTATEs of the extension (class VC). See docs/errors.md.
#define CE_ERRCODE_STALE_VERSION      MAKE_SQLSTATE('V', 'C', '0', '0', '1')
#define CE_ERRCODE_FILE_DELETED       MAKE_SQLSTATE('V', 'C', '0', '0', '2')
#define CE_ERRCODE_PATH_CONFLICT      MAKE_SQLSTATE('V', 'C', '0', '0', '3')
#define CE_ERRCODE_FILE_LOCKED        MAKE_SQLSTATE('V', 'C', '0', '0', '4')
#define CE_ERRCODE_SESSION_INVALID    MAKE_SQLSTATE('V', 'C', '0', '0', '5')
#define CE_ERRCODE_VERSION_NOT_FOUND  MAKE_SQLSTATE('V', 'C', '0', '0', '6')
#define CE_ERRCODE_FILE_NOT_FOUND     MAKE_SQLSTATE('V', 'C', '0', '0', '7')
#define CE_ERRCODE_CONFLICT_NOT_OPEN  MAKE_SQLSTATE('V', 'C', '0', '0', '8')
#define CE_ERRCODE_BLIND_UPDATE       MAKE_SQLSTATE('V', 'C', '0', '0', '9')
#define CE_ERRCODE_INVALID_OPERATION  MAKE_SQLSTATE('V', 'C', '0', '1', '0')
#define CE_ERRCODE_DEPENDENCY_CYCLE   MAKE_SQLSTATE('V', 'C', '0', '1', '1')
#define CE_ERRCODE_CURSOR_EXPIRED     MAKE_SQLSTATE('V', 'C', '0', '1', '2')
#define CE_ERRCODE_LOCK_NOT_HELD      MAKE_SQLSTATE('V', 'C', '0', '1', '3')
#define CE_ERRCODE_DRAFT_NOT_FOUND    MAKE_SQLSTATE('V', 'C', '0', '1', '4')
#define CE_ERRCODE_INTERNAL           MAKE_SQLSTATE('V', 'C', '9', '9', '9')

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

// Memory context in which captured PostgreSQL errors are copied (outlives guard()).
extern MemoryContext error_context;
// Calls fn(arg) inside PG_TRY; returns the copied error, or nullptr on success.
ErrorData* run_pg_try(void (*fn)(void*), void* arg);

}  // namespace detail

// Runs `body` (returning a Datum) with every C++ exception caught and turned into
// a PostgreSQL error after the catch block. See the file comment.
template <typename Body>
Datum guard(Body&& body) {
    detail::Failure failure;
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

// CHECK_FOR_INTERRUPTS() for C++ code: cancel and statement_timeout become a PgError
// (SQLSTATE 57014) that unwinds the C++ frames. Installed as the core's interrupt hook.
inline void check_interrupts() {
    if (unlikely(InterruptPending)) pg_call([] { CHECK_FOR_INTERRUPTS(); });
}

// ---------------------------------------------------------------------------
// Step 1 helpers: argument decoding, before any C++ object exists (may ereport).

struct TextArg {
    const char* data = nullptr;
    std::size_t len = 0;
    bool isnull = true;
    std::string_view view() const noexcept { return {data, len}; }
};

// Reads text argument `n`. A NULL raises 22004 naming `name` unless `nullable`;
// more than `max_bytes` bytes raises 54000.
TextArg text_arg(FunctionCallInfo fcinfo, int n, const char* name, std::size_t max_bytes,
                 bool nullable = false);
// Reads a non-NULL int4 argument (22004 when NULL).
int32 int4_arg(FunctionCallInfo fcinfo, int n, const char* name);
// Raises 22004 for a NULL argument `n` that is required.
void require_arg(FunctionCallInfo fcinfo, int n, const char* name);

// ---------------------------------------------------------------------------
// Step 3 helpers: results built while C++ objects are alive.

Datum text_datum(std::string_view s);

}  // namespace ce::pg
