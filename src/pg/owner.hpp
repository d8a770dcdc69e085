// The extension owner's context: the one way C++ code takes the identity of the
// role that owns the extension (and its tables). docs/security.md lists every
// place that enters it and why.
//
// Inside it: the extension owner as current user, SECURITY_LOCAL_USERID_CHANGE and
// SECURITY_RESTRICTED_OPERATION (no SET ROLE, no temporary objects), search_path
// pinned to pg_catalog, pg_temp, and an active snapshot. Code run there touches
// only the extension's own tables with fixed statements; whatever reads a
// caller's relation (row images, to_jsonb(row)) runs before, as the caller, and
// only its already-computed values cross into the owner's context.
//
// Leaving: leave() on success; on an error the guard restores the identity before
// raising it and the (sub)transaction abort restores the settings and snapshot.
#pragma once

#include <functional>

#include "pg/boundary.hpp"

namespace ce::pg {

// The role owning the extension. PostgreSQL calls: use inside pg_call().
// Cached per backend (dropped when pg_extension changes).
Oid extension_owner();
void register_owner_callbacks();  // _PG_init

class OwnerContext {
public:
    OwnerContext();
    OwnerContext(const OwnerContext&) = delete;
    OwnerContext& operator=(const OwnerContext&) = delete;
    ~OwnerContext() = default;  // no PostgreSQL call during unwinding (see above)
    // The role that was current when the context was entered: the caller whose
    // rights are checked.
    Oid caller() const noexcept { return saved_user_; }
    void leave();
    bool active() const noexcept { return active_; }

private:
    Oid saved_user_ = InvalidOid;
    int saved_sec_ = 0;
    int nest_ = 0;
    bool active_ = false;
};

// Runs `body` in the owner's context (commit-time sequencing, the background
// worker, the OCC triggers' row images).
void with_owner_context(const std::function<void()>& body);

}  // namespace ce::pg
