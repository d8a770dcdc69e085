// Access per project (docs/reference/access.md, docs/security.md).
//
// A role's right on a project is the highest of: admin for superusers and members
// of the extension owner; its all-projects grant (grant_access: write,
// grant_admin: admin); its grant on that project (grant_project: read, write or
// admin). Grants made to a role count for the roles that have its privileges
// (pg_has_role(..., 'USAGE')). Rights are cached per backend and the cache is
// dropped whenever a grant, a role or a role membership changes (relcache and
// syscache invalidation), so a revocation is seen by the next transaction of every
// session.
#pragma once

#include <string>
#include <string_view>

#include "pg/spi.hpp"

namespace ce::pg {

enum class Right : int { none = 0, read = 1, write = 2, admin = 3 };
const char* right_name(Right r);
bool operator>=(Right a, Right b);
Right parse_right(std::string_view s);  // 22023 for anything but read, write, admin

// The right of `role` on `project`. Reads the grant tables: run in the owner's context.
Right right_on(Spi& spi, Oid role, const pg_uuid_t& project);
// The right of `role` on every project (all-projects grants only).
Right right_on_all(Spi& spi, Oid role);
// Superusers and members of the extension owner.
bool is_extension_admin(Oid role);

// 42501 unless `role` has `needed` on `project`; the DETAIL is JSON:
// {"project_id", "needs", "has", "role"}.
void require_right(Spi& spi, Oid role, const pg_uuid_t& project, Right needed);
void require_right_on_all(Spi& spi, Oid role, Right needed);
// The DETAIL of a 42501 for a right: {"project_id" (or "*"), "needs", "has",
// "role"} and, unless `what` is empty, "reason".
std::string access_denied_detail(Oid role, const pg_uuid_t* project, const char* needs, Right has,
                                 const std::string& what);
[[noreturn]] void throw_access_denied(Oid role, const pg_uuid_t* project, Right needed, Right has,
                                      const std::string& what = {});

// Deletes the grants of roles that no longer exist (their OIDs could be reused)
// and gives their sessions to no role, when a transaction that dropped a role
// committed since the last call (or rows were left then, or at the worker's
// start). Owner's context; the background worker runs it. Returns how many rows
// changed.
int64 forget_dropped_roles(Spi& spi);

// The feed's utility hook, after a DROP ROLE statement: counted at its
// transaction's commit (note_roles_dropped, shared.hpp).
void note_role_drop_statement();

// Registers the cache invalidation callbacks (_PG_init).
void register_access_callbacks();

}  // namespace ce::pg
