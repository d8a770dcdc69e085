// Exception classification and error raising for the C++/PostgreSQL boundary.
#include "pg/boundary.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "concurrent_edit/error.hpp"
#include "pg/stats.hpp"

namespace ce::pg {
namespace detail {

MemoryContext error_context = nullptr;

namespace {

char* dup(const char* s) noexcept {
    if (s == nullptr || *s == '\0') return nullptr;
    return strdup(s);  // malloc: no PostgreSQL call inside a catch block
}

void set(Failure& f, int code, const char* message, const char* detail = nullptr,
         const char* hint = nullptr) noexcept {
    f.sqlerrcode = code;
    f.message = dup(message);
    f.detail = dup(detail);
    f.hint = dup(hint);
    if (f.message == nullptr) f.fallback = message != nullptr && *message ? "out of memory while reporting an error" : "error";
}

}  // namespace

int sqlstate_for(ce::Errc code) noexcept {
    switch (code) {
        case ce::Errc::invalid_parameter: return ERRCODE_INVALID_PARAMETER_VALUE;
        case ce::Errc::invalid_text: return ERRCODE_INVALID_TEXT_REPRESENTATION;
        case ce::Errc::invalid_json: return ERRCODE_INVALID_JSON_TEXT;
        case ce::Errc::null_not_allowed: return ERRCODE_NULL_VALUE_NOT_ALLOWED;
        case ce::Errc::out_of_range: return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
        case ce::Errc::limit_exceeded: return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
        case ce::Errc::invalid_operation: return CE_ERRCODE_INVALID_OPERATION;
        case ce::Errc::dependency_cycle: return CE_ERRCODE_DEPENDENCY_CYCLE;
        case ce::Errc::duplicate_key: return ERRCODE_DUPLICATE_JSON_OBJECT_KEY_VALUE;
        case ce::Errc::invalid_binary: return ERRCODE_INVALID_BINARY_REPRESENTATION;
        case ce::Errc::canceled: return ERRCODE_QUERY_CANCELED;
        case ce::Errc::internal: return CE_ERRCODE_INTERNAL;
    }
    return CE_ERRCODE_INTERNAL;
}

void capture_current_exception(Failure& f) noexcept {
    try {
        throw;
    } catch (const PgError& e) {
        f.pg_error = e.edata();
    } catch (const SqlError& e) {
        set(f, e.sqlerrcode(), e.what(), e.detail().c_str(), e.hint().c_str());
    } catch (const ce::Error& e) {
        set(f, sqlstate_for(e.code()), e.what(), e.detail().c_str(), e.hint().c_str());
    } catch (const std::bad_alloc&) {
        f.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
        f.fallback = "out of memory";
    } catch (const std::length_error& e) {
        set(f, ERRCODE_PROGRAM_LIMIT_EXCEEDED, "value too large for concurrent_edit", e.what());
    } catch (const std::exception& e) {
        set(f, CE_ERRCODE_INTERNAL, "internal error in concurrent_edit", e.what(),
            "This is a bug in concurrent_edit; please report it with the statement that caused it.");
    } catch (...) {
        set(f, CE_ERRCODE_INTERNAL, "internal error in concurrent_edit", "unknown C++ exception",
            "This is a bug in concurrent_edit; please report it with the statement that caused it.");
    }
}

namespace {

// The DETAIL of an error of the extension is a JSON object (docs/errors.md), and an
// error of class VC always has one. Every site that raises one gives it; an
// exception that is not ours (a std::exception's what(), an unknown exception)
// carries a text, which becomes {"reason": text}.
char* json_detail(int sqlerrcode, char* detail) {
    if (detail != nullptr && detail[0] == '{') return detail;
    if (detail == nullptr && ERRCODE_TO_CATEGORY(sqlerrcode) != ERRCODE_TO_CATEGORY(CE_ERRCODE_INTERNAL))
        return detail;
    StringInfoData buf;
    initStringInfo(&buf);
    appendStringInfoString(&buf, "{");
    if (detail != nullptr) {
        appendStringInfoString(&buf, "\"reason\": ");
        escape_json(&buf, detail);
    }
    appendStringInfoString(&buf, "}");
    return buf.data;
}

}  // namespace

void raise_failure(Failure& f) {
    if (f.pg_error != nullptr) ReThrowError(f.pg_error);

    // Move the malloc'd texts into palloc'd memory so nothing leaks when ereport
    // longjmps; errmsg copies them again into ErrorContext.
    char* message = f.message ? pstrdup(f.message) : pstrdup(f.fallback ? f.fallback : "error");
    char* detail = f.detail ? pstrdup(f.detail) : nullptr;
    char* hint = f.hint ? pstrdup(f.hint) : nullptr;
    free(f.message);
    free(f.detail);
    free(f.hint);
    f.message = f.detail = f.hint = nullptr;

    int code = f.sqlerrcode != 0 ? f.sqlerrcode : CE_ERRCODE_INTERNAL;
    detail = json_detail(code, detail);

    ereport(ERROR, (errcode(code),
                    errmsg_internal("%s", message),
                    detail ? errdetail_internal("%s", detail) : 0,
                    hint ? errhint("%s", hint) : 0));
    pg_unreachable();
}

Identity current_identity() noexcept {
    Identity id;
    GetUserIdAndSecContext(&id.user, &id.sec_context);
    return id;
}

void restore_identity(const Identity& id) noexcept {
    // Plain assignments in PostgreSQL (no ereport): safe on the error path.
    SetUserIdAndSecContext(id.user, id.sec_context);
}

ErrorData* run_pg_try(void (*fn)(void*), void* arg) {
    MemoryContext volatile cxt = CurrentMemoryContext;
    ErrorData* volatile edata = nullptr;
    PG_TRY();
    {
        fn(arg);
    }
    PG_CATCH();
    {
        // Copy the error where it outlives the C++ unwinding, then clear it: it is
        // re-raised by guard() with ReThrowError, so the transaction still aborts.
        MemoryContextSwitchTo(error_context != nullptr ? error_context : cxt);
        edata = CopyErrorData();
        FlushErrorState();
        MemoryContextSwitchTo(cxt);
    }
    PG_END_TRY();
    return edata;
}

}  // namespace detail

bool run_reporting_errors(void (*fn)(void*), void* arg, int* sqlerrcode) {
    MemoryContext cxt = CurrentMemoryContext;
    volatile bool ok = true;
    PG_TRY();
    {
        fn(arg);
    }
    PG_CATCH();
    {
        HOLD_INTERRUPTS();
        MemoryContextSwitchTo(cxt);
        ErrorData* edata = CopyErrorData();  // for worker_status (monitoring)
        stats::worker_error(edata->sqlerrcode, edata->message, GetCurrentTimestamp());
        if (sqlerrcode != nullptr) *sqlerrcode = edata->sqlerrcode;
        FreeErrorData(edata);
        EmitErrorReport();
        FlushErrorState();
        AbortCurrentTransaction();
        RESUME_INTERRUPTS();
        ok = false;
    }
    PG_END_TRY();
    return ok;
}

namespace detail {

SubxactState begin_subtransaction() {
    SubxactState st{CurrentMemoryContext, CurrentResourceOwner};
    pg_call([st] {
        BeginInternalSubTransaction(nullptr);
        MemoryContextSwitchTo(st.memory);
    });
    return st;
}

void commit_subtransaction(const SubxactState& st) {
    pg_call([st] {
        ReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(st.memory);
        CurrentResourceOwner = st.owner;
    });
}

void rollback_subtransaction(const SubxactState& st) {
    pg_call([st] {
        RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(st.memory);
        CurrentResourceOwner = st.owner;
    });
}

}  // namespace detail

Datum text_datum(std::string_view s) {
    if (s.size() > MaxAllocSize - VARHDRSZ)
        throw SqlError(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "result is too large for a text value",
                       ce::Detail().add("bytes", s.size()).add("limit", MaxAllocSize - VARHDRSZ));
    const char* p = s.data();
    int len = static_cast<int>(s.size());
    return pg_call([p, len] { return PointerGetDatum(cstring_to_text_with_len(p, len)); });
}

}  // namespace ce::pg
