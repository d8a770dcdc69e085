// Hot standbys: the read-only API works there. The functions that write, and those
// that read the lock leases (unlogged tables, which a standby cannot read), refuse
// at once (CE_PRIMARY_FUNCTION), before PostgreSQL would refuse their first
// statement, with a hint naming the primary. docs/scale-out.md#read-replicas.
#include <string>

#include "concurrent_edit/conninfo.hpp"
#include "pg/boundary.hpp"
#include "pg/values.hpp"

namespace ce::pg {

void refuse_on_standby(const char* function) {
    if (!RecoveryInProgress()) return;  // a local flag once recovery has ended: no lock
    // primary_conninfo may hold a password: only its host and port are shown.
    const char* conninfo = nullptr;
    pg_call([&conninfo] { conninfo = GetConfigOption("primary_conninfo", true, false); });
    std::string primary = conninfo != nullptr ? ce::conninfo_location(conninfo) : std::string();
    std::string name = std::string("concurrent_edit.") + function;
    std::string detail = "{\"function\": " + json_string(name) +
                         ", \"primary\": " + (primary.empty() ? std::string("null") : json_string(primary)) + "}";
    std::string hint = primary.empty() ? "Run it on the primary server."
                                       : "Run it on the primary server (" + primary + ").";
    throw SqlError(ERRCODE_READ_ONLY_SQL_TRANSACTION, "cannot run " + name + "() on a hot standby", detail, hint);
}

}  // namespace ce::pg
