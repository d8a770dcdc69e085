// Access per project: the rights check every API function makes, its cache, and
// the SQL functions that manage grants (src/sql/10_access.sql,
// docs/reference/access.md).
#include "pg/access.hpp"

#include <cstring>
#include <unordered_map>

#include "concurrent_edit/error.hpp"

#include "pg/api.hpp"
#include "pg/results.hpp"
#include "pg/shared.hpp"

namespace ce::pg {
namespace {

struct Key {
    Oid role;
    pg_uuid_t project;
    bool operator==(const Key& o) const { return role == o.role && uuid_eq(project, o.project); }
};
struct KeyHash {
    std::size_t operator()(const Key& k) const {
        uint32 h = 2166136261u ^ k.role;
        for (unsigned char b : k.project.data) h = (h ^ b) * 16777619u;
        return h;
    }
};

// Rights already computed in this backend. Bounded: dropped whole when full.
// They are read with the latest snapshot, not the transaction's: a REPEATABLE
// READ transaction that began before a revoke would otherwise cache the revoked
// right after the invalidation was processed, and keep it in later transactions.
// A commit is visible to new snapshots before its invalidation is sent, so a
// right read while no invalidation arrived is current; one read while one did is
// not kept (cache_generation). In parallel mode (a policy evaluated by a parallel
// query) there is no latest snapshot: the query's is used. A parallel worker,
// which ends with the query, keeps what it read, and so does the leader under
// READ COMMITTED (the statement's snapshot); under REPEATABLE READ the leader
// keeps nothing (its snapshot may predate a revoke).
constexpr std::size_t kMaxCached = 4096;
std::unordered_map<Key, Right, KeyHash>* project_cache = nullptr;
std::unordered_map<Oid, Right>* global_cache = nullptr;
// The grant tables, once looked up (their invalidations drop the cache).
Oid grant_tables[2] = {InvalidOid, InvalidOid};

// Counts the drops: a right computed while one happened is used but not kept.
uint64 cache_generation = 0;

void drop_cache() {
    ++cache_generation;
    if (project_cache != nullptr) project_cache->clear();
    if (global_cache != nullptr) global_cache->clear();
}

void relcache_changed(Datum, Oid relid) {
    if (relid == InvalidOid || relid == grant_tables[0] || relid == grant_tables[1]) {
        drop_cache();
        if (relid != InvalidOid) grant_tables[0] = grant_tables[1] = InvalidOid;  // looked up again
    }
}

void syscache_changed(Datum, int, uint32) { drop_cache(); }

void remember_grant_tables() {
    if (OidIsValid(grant_tables[0])) return;
    Oid ns = pg_call([] { return get_namespace_oid("concurrent_edit", true); });
    if (!OidIsValid(ns)) return;
    grant_tables[0] = pg_call([ns] { return get_relname_relid("project_access", ns); });
    grant_tables[1] = pg_call([ns] { return get_relname_relid("global_access", ns); });
}

Right max_right(Right a, Right b) { return static_cast<int>(a) >= static_cast<int>(b) ? a : b; }

bool has_privs(Oid member, Oid role) {
    return pg_call([member, role] { return has_privs_of_role(member, role); });
}

// The highest right among the grant rows (role oid, rights) that apply to `role`.
Right from_rows(const Rows& r, Oid role) {
    Right best = Right::none;
    for (uint64 i = 0; i < r.size(); ++i)
        if (has_privs(role, r.oid(i, 0))) best = max_right(best, parse_right(r.text(i, 1)));
    return best;
}

// The highest right of `role` among the grant rows `q` returns, read as the
// comment on the cache says; *keep: whether the cache may keep it.
Right read_right(Spi& spi, Statement& q, const std::vector<Datum>& args, Oid role, bool* keep) {
    uint64 generation = cache_generation;
    bool latest = !pg_call([] { return IsInParallelMode(); });
    Right r = from_rows(latest ? q.run_latest(spi, args, {}, true) : q.run(spi, args, {}, true), role);
    *keep = (latest || IsParallelWorker() || !IsolationUsesXactSnapshot()) && generation == cache_generation;
    return r;
}

}  // namespace

const char* right_name(Right r) {
    switch (r) {
        case Right::read: return "read";
        case Right::write: return "write";
        case Right::admin: return "admin";
        case Right::none: break;
    }
    return "none";
}

Right parse_right(std::string_view s) {
    if (s == "read") return Right::read;
    if (s == "write") return Right::write;
    if (s == "admin") return Right::admin;
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "unknown right \"" + ce::excerpt(s) + "\"",
                   "{\"argument\": \"rights\", \"valid\": [\"read\", \"write\", \"admin\"]}",
                   "Rights are read, write (includes sessions, drafts and locks) and admin.");
}

bool is_extension_admin(Oid role) {
    return pg_call([role] { return superuser_arg(role) || has_privs_of_role(role, extension_owner()); });
}

bool operator>=(Right a, Right b) { return static_cast<int>(a) >= static_cast<int>(b); }

Right right_on_all(Spi& spi, Oid role) {
    if (is_extension_admin(role)) return Right::admin;
    if (global_cache == nullptr) global_cache = new std::unordered_map<Oid, Right>();
    auto it = global_cache->find(role);
    if (it != global_cache->end()) return it->second;
    remember_grant_tables();
    static Statement q("SELECT g.role::oid, g.rights FROM concurrent_edit.global_access g", {});
    bool keep;
    Right r = read_right(spi, q, {}, role, &keep);
    if (!keep) return r;
    if (global_cache->size() >= kMaxCached) global_cache->clear();
    (*global_cache)[role] = r;
    return r;
}

Right right_on(Spi& spi, Oid role, const pg_uuid_t& project) {
    if (is_extension_admin(role)) return Right::admin;
    if (project_cache == nullptr) project_cache = new std::unordered_map<Key, Right, KeyHash>();
    Key key{role, project};
    auto it = project_cache->find(key);
    if (it != project_cache->end()) return it->second;
    remember_grant_tables();
    static Statement q(
        "SELECT a.role::oid, a.rights FROM concurrent_edit.project_access a WHERE a.project_id = $1 "
        "UNION ALL SELECT g.role::oid, g.rights FROM concurrent_edit.global_access g",
        {UUIDOID});
    bool keep;
    Right r = read_right(spi, q, {uuid_datum(project)}, role, &keep);
    if (!keep) return r;
    if (project_cache->size() >= kMaxCached) project_cache->clear();
    (*project_cache)[key] = r;
    return r;
}

std::string access_denied_detail(Oid role, const pg_uuid_t* project, const char* needs, Right has,
                                 const std::string& what) {
    const char* name = pg_call([role] { return GetUserNameFromId(role, true); });
    std::string detail = "{";
    if (project != nullptr) detail += "\"project_id\": " + json_uuid(*project) + ", ";
    else detail += "\"project_id\": \"*\", ";
    detail += "\"needs\": \"" + std::string(needs) + "\", \"has\": \"" + right_name(has) + "\", \"role\": ";
    append_json_string(detail, name ? name : "?");
    if (!what.empty()) {
        detail += ", \"reason\": ";
        append_json_string(detail, what);
    }
    return detail + "}";
}

void throw_access_denied(Oid role, const pg_uuid_t* project, Right needed, Right has, const std::string& what) {
    std::string detail = access_denied_detail(role, project, right_name(needed), has, what);
    std::string msg = std::string("permission denied: ") + right_name(needed) + " access to " +
                      (project ? "project " + uuid_to_string(*project) : std::string("every project")) + " is required";
    if (!what.empty()) msg += " (" + what + ")";
    throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE, msg, detail,
                   project ? "An admin of the project grants it with concurrent_edit.grant_project()."
                   : needed >= Right::admin
                       ? "A superuser grants admin on every project with concurrent_edit.grant_admin()."
                       : "A superuser grants write on every project with concurrent_edit.grant_access().");
}

void require_right(Spi& spi, Oid role, const pg_uuid_t& project, Right needed) {
    Right has = right_on(spi, role, project);
    if (static_cast<int>(has) < static_cast<int>(needed)) throw_access_denied(role, &project, needed, has);
}

void require_right_on_all(Spi& spi, Oid role, Right needed) {
    Right has = right_on_all(spi, role);
    if (static_cast<int>(has) < static_cast<int>(needed)) throw_access_denied(role, nullptr, needed, has);
}

namespace {

// A DROP ROLE ran in this transaction: counted at commit, after the drop is
// visible, so that a worker that sees the count sees the drop.
bool role_dropped_in_xact = false;

void role_drop_xact_callback(XactEvent event, void*) {
    if (!role_dropped_in_xact) return;
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT) note_roles_dropped();
    // (A prepared one is counted at any COMMIT PREPARED: the feed's hook.)
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_ABORT ||
        event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE)
        role_dropped_in_xact = false;
}

// The worker's view of dropped roles: the count of transactions that dropped
// one when it last looked (none yet: unknown), and whether rows of dropped
// roles were left then (a client's transaction held them).
uint64 drops_seen = 0;
bool drops_seen_valid = false;
bool dropped_rows_left = true;

}  // namespace

void note_role_drop_statement() { role_dropped_in_xact = true; }

int64 forget_dropped_roles(Spi& spi) {
    // The statements below read the whole of edit_sessions and conflict_history.
    // They run only when a transaction that dropped a role has committed since
    // the last look (or at the first), or when rows a client held were left
    // then. Before, any change of any role started them (ALTER ROLE r PASSWORD,
    // which every role may do to itself): with 32,000 closed sessions they took
    // the worker 17 ms per change, about a second with a million (an audit). An
    // error leaves the view as it was: the next round looks again.
    uint64 drops = 0;
    bool counted = roles_dropped_count(&drops);
    if (counted && drops_seen_valid && drops == drops_seen && !dropped_rows_left) return 0;
#define CE_DROPPED(col) "NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid = " col "::oid)"
#define CE_SESSIONS_OF_DROPPED "concurrent_edit.edit_sessions k WHERE k.role <> 0::oid::regrole AND " CE_DROPPED("k.role")
#define CE_CONFLICTS_OF_DROPPED \
    "concurrent_edit.conflict_history k WHERE k.created_role IS NOT NULL AND " CE_DROPPED("k.created_role")
#define CE_GRANTS_OF_DROPPED "concurrent_edit.project_access k WHERE " CE_DROPPED("k.role")
#define CE_GLOBAL_GRANTS_OF_DROPPED "concurrent_edit.global_access k WHERE " CE_DROPPED("k.role")
    // The rows of `rows` (a FROM ... WHERE over k) that no client's transaction
    // holds, by ctid (`alias` names the table updated): held ones are left for a
    // later round (the worker never waits for a client: a grant_project() of a
    // dropped role's grant left open by a project's admin held up the worker, and
    // with it every project's feed, until that transaction ended).
#define CE_NOT_HELD(alias, rows) \
    alias ".ctid = ANY (ARRAY(SELECT k.ctid FROM " rows " FOR UPDATE SKIP LOCKED))"
    static Statement q(
        "WITH a AS (DELETE FROM concurrent_edit.project_access a WHERE " CE_NOT_HELD("a", CE_GRANTS_OF_DROPPED)
        "      RETURNING 1), "
        "g AS (DELETE FROM concurrent_edit.global_access g WHERE " CE_NOT_HELD("g", CE_GLOBAL_GRANTS_OF_DROPPED)
        "      RETURNING 1), "
        // A dropped role's sessions belong to no role (0): a new role given its OID
        // cannot use them, nor commit their drafts as their user; admins of the
        // project still can. Its conflicts lose their recording role, which could
        // close them with write.
        "s AS (UPDATE concurrent_edit.edit_sessions s SET role = 0::oid::regrole "
        "      WHERE " CE_NOT_HELD("s", CE_SESSIONS_OF_DROPPED) " RETURNING 1), "
        "c AS (UPDATE concurrent_edit.conflict_history c SET created_role = NULL "
        "      WHERE " CE_NOT_HELD("c", CE_CONFLICTS_OF_DROPPED) " RETURNING 1) "
        "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM g) + (SELECT count(*) FROM s) + (SELECT count(*) FROM c)",
        {}, Scans::by_key);
    static Statement left("SELECT EXISTS (SELECT FROM " CE_SESSIONS_OF_DROPPED ") OR EXISTS (SELECT FROM "
                          CE_CONFLICTS_OF_DROPPED ") OR EXISTS (SELECT FROM " CE_GRANTS_OF_DROPPED
                          ") OR EXISTS (SELECT FROM " CE_GLOBAL_GRANTS_OF_DROPPED ")",
                          {});
#undef CE_NOT_HELD
#undef CE_GLOBAL_GRANTS_OF_DROPPED
#undef CE_GRANTS_OF_DROPPED
#undef CE_CONFLICTS_OF_DROPPED
#undef CE_SESSIONS_OF_DROPPED
#undef CE_DROPPED
    int64 n = q.run(spi, {}).int8(0, 0);
    // Rows a client's transaction held were skipped: the next round retries.
    dropped_rows_left = left.run(spi, {}).boolean(0, 0);
    // Read before the statements: a role dropped while they ran (after their
    // snapshot) is counted after the read, and the next round looks again.
    drops_seen = drops;
    drops_seen_valid = counted;
    return n;
}

void register_access_callbacks() {
    RegisterXactCallback(role_drop_xact_callback, nullptr);
    CacheRegisterRelcacheCallback(relcache_changed, Datum(0));
    CacheRegisterSyscacheCallback(AUTHOID, syscache_changed, Datum(0));
    CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, syscache_changed, Datum(0));
}

}  // namespace ce::pg

using namespace ce::pg;

namespace {

Oid role_arg(FunctionCallInfo fcinfo, int n) {
    require_arg(fcinfo, n, "role");
    return PG_GETARG_OID(n);
}

// Only roles that exist can be granted (a dropped role's OID could be reused).
void check_role_exists(Oid role) {
    bool exists = pg_call([role] { return SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)); });
    if (!exists)
        throw SqlError(ERRCODE_UNDEFINED_OBJECT, "role with OID " + std::to_string(role) + " does not exist",
                       "{\"argument\": \"role\", \"role_oid\": " + std::to_string(role) + "}");
}

// SELECT on the extension's tables (rows filtered by row-level security on the
// role's project rights); never on occ_row_versions, which holds copies of other
// tables' rows.
void grant_table_reads(Spi& spi, Oid role) {
    const char* name = pg_call([role] { return quote_identifier(GetUserNameFromId(role, false)); });
    std::string grantee(name);
    spi.execute("GRANT SELECT ON ALL TABLES IN SCHEMA concurrent_edit TO " + grantee);
    spi.execute("REVOKE SELECT ON concurrent_edit.occ_row_versions FROM " + grantee);
}

void require_extension_admin(Oid caller, const char* what) {
    if (!is_extension_admin(caller))
        throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE,
                       std::string("permission denied: only a superuser or the extension owner may ") + what,
                       "{\"needs\": \"extension_admin\"}", {});
}

}  // namespace

// grant_project(project_id uuid, role regrole, rights text) RETURNS void
CE_PRIMARY_FUNCTION(ce_grant_project, "grant_project") {
    pg_uuid_t project = uuid_required(fcinfo, 0, "project_id");
    Oid role = role_arg(fcinfo, 1);
    TextArg rights_text = text_arg(fcinfo, 2, "rights", 64);
    Right rights = parse_right(rights_text.view());
    check_role_exists(role);
    ApiCall call;
    call.require(project, Right::admin);
    static Statement q(
        "INSERT INTO concurrent_edit.project_access AS a (project_id, role, rights, granted_by) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, role) DO UPDATE "
        "SET rights = EXCLUDED.rights, granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at",
        {UUIDOID, OIDOID, TEXTOID, OIDOID});
    q.run(call.spi(), {uuid_datum(project), ObjectIdGetDatum(role), text_datum(right_name(rights)),
                       ObjectIdGetDatum(call.caller())});
    call.finish();
    PG_RETURN_VOID();
}

// revoke_project(project_id uuid, role regrole) RETURNS boolean
CE_PRIMARY_FUNCTION(ce_revoke_project, "revoke_project") {
    pg_uuid_t project = uuid_required(fcinfo, 0, "project_id");
    Oid role = role_arg(fcinfo, 1);
    ApiCall call;
    call.require(project, Right::admin);
    static Statement q("DELETE FROM concurrent_edit.project_access a WHERE a.project_id = $1 AND a.role = $2",
                       {UUIDOID, OIDOID});
    uint64 n = q.run(call.spi(), {uuid_datum(project), ObjectIdGetDatum(role)}).size();
    call.finish();
    return BoolGetDatum(n > 0);
}

// project_access(project_id uuid DEFAULT NULL)
//   RETURNS TABLE (project_id uuid, role regrole, rights text, granted_by regrole, granted_at timestamptz)
// The grants the caller may see: of the projects it can read (all of them when
// project_id is NULL), and the all-projects grants (project_id NULL) that apply to
// it, or all of them for extension admins.
CE_FUNCTION(ce_project_access) {
    UuidArg project = uuid_arg(fcinfo, 0);
    MemoryContext out = CurrentMemoryContext;  // the rows are copied here: it outlives SPI
    ApiCall call;
    if (!project.null) call.require(project.value, Right::read);
    static Statement q(
        "SELECT a.project_id, a.role, a.rights, a.granted_by, a.granted_at FROM concurrent_edit.project_access a "
        "WHERE $1::uuid IS NULL OR a.project_id = $1 "
        "UNION ALL SELECT NULL::uuid, g.role, g.rights, g.granted_by, g.granted_at "
        "FROM concurrent_edit.global_access g WHERE $1::uuid IS NULL "
        "ORDER BY 1 NULLS FIRST, 2",
        {UUIDOID});
    Rows r = q.run(call.spi(), {uuid_datum(project.value)}, project.null ? "n" : " ", true);
    // Copy every row out first (deciding visibility may run statements), then keep
    // what the caller may see.
    struct Grant {
        std::vector<Datum> values;
        std::vector<char> nulls;
        pg_uuid_t project;
        Oid grantee;
    };
    std::vector<Grant> rows;
    for (uint64 i = 0; i < r.size(); ++i) {
        Grant g{std::vector<Datum>(5), std::vector<char>(5, 0), r.uuid(i, 0), r.oid(i, 1)};
        for (int c = 0; c < 5; ++c) {
            bool isnull;
            g.values[c] = r.copy(i, c, out, &isnull);
            g.nulls[c] = isnull;
        }
        rows.push_back(std::move(g));
    }
    bool admin = is_extension_admin(call.caller());
    std::vector<const Grant*> visible;
    for (const Grant& g : rows) {
        bool show;
        if (g.nulls[0]) {
            Oid caller = call.caller(), grantee = g.grantee;
            show = admin || pg_call([caller, grantee] { return has_privs_of_role(caller, grantee); });
        } else {
            show = !project.null || call.right(g.project) >= Right::read;
        }
        if (show) visible.push_back(&g);
    }
    call.finish();
    SetResult result(fcinfo);
    for (const Grant* g : visible) result.add(g->values, g->nulls);
    return result.done();
}

// grant_access(role regrole, read_tables boolean DEFAULT false): write on every project.
CE_PRIMARY_FUNCTION(ce_grant_access, "grant_access") {
    Oid role = role_arg(fcinfo, 0);
    bool read_tables = bool_arg(fcinfo, 1, false);
    check_role_exists(role);
    ApiCall call;
    require_extension_admin(call.caller(), "grant access to every project");
    static Statement q(
        "INSERT INTO concurrent_edit.global_access AS g (role, rights, granted_by) VALUES ($1, 'write', $2) "
        "ON CONFLICT (role) DO UPDATE SET rights = CASE WHEN g.rights = 'admin' THEN 'admin' ELSE 'write' END",
        {OIDOID, OIDOID});
    q.run(call.spi(), {ObjectIdGetDatum(role), ObjectIdGetDatum(call.caller())});
    if (read_tables) grant_table_reads(call.spi(), role);
    call.finish();
    PG_RETURN_VOID();
}

// grant_admin(role regrole): admin on every project (and SELECT on the tables).
CE_PRIMARY_FUNCTION(ce_grant_admin, "grant_admin") {
    Oid role = role_arg(fcinfo, 0);
    check_role_exists(role);
    ApiCall call;
    require_extension_admin(call.caller(), "grant admin on every project");
    static Statement q(
        "INSERT INTO concurrent_edit.global_access AS g (role, rights, granted_by) VALUES ($1, 'admin', $2) "
        "ON CONFLICT (role) DO UPDATE SET rights = 'admin'",
        {OIDOID, OIDOID});
    q.run(call.spi(), {ObjectIdGetDatum(role), ObjectIdGetDatum(call.caller())});
    grant_table_reads(call.spi(), role);
    call.finish();
    PG_RETURN_VOID();
}

// revoke_access(role regrole) RETURNS boolean: removes the all-projects grant.
CE_PRIMARY_FUNCTION(ce_revoke_access, "revoke_access") {
    Oid role = role_arg(fcinfo, 0);
    ApiCall call;
    require_extension_admin(call.caller(), "revoke access to every project");
    static Statement q("DELETE FROM concurrent_edit.global_access g WHERE g.role = $1", {OIDOID});
    uint64 n = q.run(call.spi(), {ObjectIdGetDatum(role)}).size();
    call.finish();
    return BoolGetDatum(n > 0);
}

// has_project_right(project_id uuid, rights text DEFAULT 'read') RETURNS boolean:
// whether the current role has that right (the row-level security policies use it).
CE_FUNCTION(ce_has_project_right) {
    if (PG_ARGISNULL(0) || (PG_NARGS() > 1 && PG_ARGISNULL(1))) PG_RETURN_NULL();  // as a strict function
    pg_uuid_t project = uuid_arg(fcinfo, 0).value;
    Right needed = Right::read;
    if (PG_NARGS() > 1 && !PG_ARGISNULL(1)) needed = parse_right(text_arg(fcinfo, 1, "rights", 64).view());
    Oid role = GetUserId();
    if (is_extension_admin(role)) PG_RETURN_BOOL(true);
    // Cached: no statement runs for a project seen before.
    if (project_cache != nullptr) {
        auto it = project_cache->find(Key{role, project});
        if (it != project_cache->end()) PG_RETURN_BOOL(static_cast<int>(it->second) >= static_cast<int>(needed));
    }
    ApiCall call;
    Right has = call.right(project);
    call.finish();
    PG_RETURN_BOOL(static_cast<int>(has) >= static_cast<int>(needed));
}

// _access_changed(): statement trigger on the grant tables; every backend drops its
// cached rights (relcache invalidation of the table, sent at commit).
CE_FUNCTION(ce_access_changed) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED, "_access_changed must be called as a trigger",
                       ce::Detail().add("function", "_access_changed"));
    auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    Oid relid = RelationGetRelid(td->tg_relation);
    pg_call([relid] { CacheInvalidateRelcacheByRelid(relid); });
    return PointerGetDatum(nullptr);
}
