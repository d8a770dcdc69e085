// The SQLSTATEs of the extension (class VC): the one definition. Every VC code is
// raised from C++ (the SQL layer raises none), and docs/errors.md documents each
// one; test/t/000_script_hygiene.pl checks that the two lists agree.
#pragma once

// X(name, code, condition name)
#define CE_SQLSTATES(X)                                      \
    X(STALE_VERSION, "VC001", "stale_version")               \
    X(FILE_DELETED, "VC002", "file_deleted")                 \
    X(PATH_CONFLICT, "VC003", "path_conflict")               \
    X(FILE_LOCKED, "VC004", "file_locked")                   \
    X(SESSION_INVALID, "VC005", "session_invalid")           \
    X(VERSION_NOT_FOUND, "VC006", "version_not_found")       \
    X(FILE_NOT_FOUND, "VC007", "file_not_found")             \
    X(CONFLICT_NOT_OPEN, "VC008", "conflict_not_open")       \
    X(BLIND_UPDATE, "VC009", "blind_update")                 \
    X(INVALID_OPERATION, "VC010", "invalid_operation")       \
    X(DEPENDENCY_CYCLE, "VC011", "dependency_cycle")         \
    X(CURSOR_EXPIRED, "VC012", "cursor_expired")             \
    X(LOCK_NOT_HELD, "VC013", "lock_not_held")               \
    X(DRAFT_NOT_FOUND, "VC014", "draft_not_found")           \
    X(INTERNAL, "VC999", "internal_failure")

#define CE_SQLSTATE_ENUM_(name, code, cond) \
    CE_ERRCODE_##name = MAKE_SQLSTATE(code[0], code[1], code[2], code[3], code[4]),
enum CeSqlState : int { CE_SQLSTATES(CE_SQLSTATE_ENUM_) };
#undef CE_SQLSTATE_ENUM_
