// Scale-out (docs/scale-out.md): what a shard behind the router and a hot standby
// need from the extension.
//
// Hot standbys: the read-only API works there. The functions that write, and those
// that read the lock leases (unlogged tables, which a standby cannot read), refuse
// at once (CE_PRIMARY_FUNCTION), before PostgreSQL would refuse their first
// statement, with a hint naming the primary. docs/scale-out.md#read-replicas.
#include <string>

#include "concurrent_edit/conninfo.hpp"
#include "pg/api.hpp"
#include "pg/args.hpp"
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

using namespace ce::pg;

// owning_project(kind, id): the project of a file, session or conflict, NULL when
// there is none or the caller may not read that project. The router finds the
// shard of a call that names no project with it (docs/scale-out.md).
CE_FUNCTION(ce_owning_project) {
    TextArg kind = text_arg(fcinfo, 0, "kind", 16);
    pg_uuid_t id = uuid_required(fcinfo, 1, "id");
    static Statement q_file("SELECT project_id FROM concurrent_edit.files WHERE id = $1", {UUIDOID}, Scans::by_key);
    static Statement q_session("SELECT project_id FROM concurrent_edit.edit_sessions WHERE id = $1", {UUIDOID},
                               Scans::by_key);
    static Statement q_conflict("SELECT project_id FROM concurrent_edit.conflict_history WHERE id = $1", {UUIDOID},
                                Scans::by_key);
    Statement* q = kind.view() == "file"       ? &q_file
                   : kind.view() == "session"  ? &q_session
                   : kind.view() == "conflict" ? &q_conflict
                                               : nullptr;
    if (q == nullptr)
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "unknown kind \"" + std::string(kind.view()) + "\"",
                       "{\"argument\": \"kind\", \"allowed\": [\"file\", \"session\", \"conflict\"]}");
    ApiCall call;
    pg_uuid_t project{};
    bool found = false;
    {
        Rows r = q->run(call.spi(), {uuid_datum(id)}, {}, true);
        if (!r.empty()) {
            project = r.uuid(0, 0);
            found = true;
        }
    }
    if (found && !(call.right(project) >= Right::read)) found = false;
    call.finish();
    if (!found) PG_RETURN_NULL();
    return uuid_datum(project);
}

// _shard_conninfo(shard, conninfo, connect_timeout): the connection string the
// router gives PL/Proxy for shard number `shard` (ce::shard_conninfo): 22023 for
// one it refuses. router_configure() only (the router's extension script).
CE_FUNCTION(ce_shard_conninfo) {
    int32 shard = int4_arg(fcinfo, 0, "shard");
    TextArg conninfo = text_arg(fcinfo, 1, "shards", 8192);
    int32 timeout = int4_arg(fcinfo, 2, "connect_timeout");
    ce::ShardConninfo c = ce::shard_conninfo(conninfo.view(), timeout);
    if (!c.error.empty()) {
        ce::Detail detail;
        detail.add("argument", "shards").add("shard", shard);
        if (!c.key.empty()) detail.add("key", c.key);
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "shard " + std::to_string(shard) + ": " + c.error, detail,
                       "Give each shard's libpq connection string in key=value form, with its host, port and "
                       "dbname only: each caller connects as itself, its credentials come from the router "
                       "server's ~/.pgpass or a user mapping a superuser made.");
    }
    return text_datum(c.conninfo);
}
