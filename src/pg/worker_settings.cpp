// The worker's session settings (worker.hpp): what ALTER DATABASE and ALTER ROLE
// ... SET give it, compared while it runs so that it starts again to apply them.
#include <cstring>

#include "pg/boundary.hpp"
#include "pg/pg_headers.hpp"
#include "pg/worker.hpp"

namespace ce::pg {
namespace {

// Whether `name=value` (an element of pg_db_role_setting.setconfig) sets a
// setting only a superuser may set (PGC_SUSET, PGC_SU_BACKEND): the worker's are
// (session_close_timeout, lock_events...). A database's owner may set the others,
// and each change would start the worker again: in a loop, it kept the worker
// (lock expiry, sequencing) down.
// (No C++ object: it runs inside run_reporting_errors' PG_TRY.)
bool superuser_setting(const char* element, std::size_t len) {
    const char* eq = static_cast<const char*>(std::memchr(element, '=', len));
    if (eq == nullptr) return false;
    const std::size_t n = static_cast<std::size_t>(eq - element);
    struct config_generic** vars = get_guc_variables();
    for (int i = 0, count = GetNumConfigOptions(); i < count; ++i)
        if (pg_strncasecmp(vars[i]->name, element, n) == 0 && vars[i]->name[n] == '\0')
            return vars[i]->context == PGC_SUSET || vars[i]->context == PGC_SU_BACKEND;
    return false;
}

// A digest of the settings ALTER DATABASE and ALTER ROLE give the worker's
// session that only a superuser may give (superuser_setting): the
// pg_db_role_setting rows of its database (or of all) and its role (or of all).
// PostgreSQL applies them only when a session connects, so the worker compares
// this with the digest it connected with and starts again when it changed:
// before, `ALTER DATABASE ... SET concurrent_edit.session_close_timeout` (or
// session_idle_timeout, closed_session_retention, lock_events) applied to new
// client sessions at once but to the worker only after a server restart; a longer
// close timeout still saw the worker close sessions, releasing their locks, after
// the old one. In a transaction.
uint64 session_settings_digest() {
    uint64 digest = 0;
    Oid role = GetSessionUserId();
    Relation rel = table_open(DbRoleSettingRelationId, AccessShareLock);
    Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, nullptr);
    while (HeapTuple t = systable_getnext(scan)) {
        auto* row = reinterpret_cast<Form_pg_db_role_setting>(GETSTRUCT(t));
        if ((row->setdatabase != MyDatabaseId && row->setdatabase != InvalidOid) ||
            (row->setrole != role && row->setrole != InvalidOid))
            continue;
        bool isnull;
        Datum v = heap_getattr(t, Anum_pg_db_role_setting_setconfig, RelationGetDescr(rel), &isnull);
        if (isnull) continue;
        const uint64 seed = hash_combine64(row->setdatabase, row->setrole);
        Datum* elems;
        bool* nulls;
        int n;
        deconstruct_array(DatumGetArrayTypeP(v), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
        for (int i = 0; i < n; ++i) {
            if (nulls[i]) continue;
            text* e = DatumGetTextPP(elems[i]);
            const char* data = VARDATA_ANY(e);
            std::size_t len = VARSIZE_ANY_EXHDR(e);
            if (superuser_setting(data, len))
                digest += hash_bytes_extended(reinterpret_cast<const unsigned char*>(data), len, seed);  // any order
        }
    }
    systable_endscan(scan);
    UnregisterSnapshot(snapshot);
    table_close(rel, AccessShareLock);
    return digest;
}

}  // namespace

bool read_settings_digest(uint64* digest) {
    auto read = [digest] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        *digest = session_settings_digest();
        CommitTransactionCommand();
    };
    return run_reporting_errors(read);
}

}  // namespace ce::pg
