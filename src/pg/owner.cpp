#include "pg/owner.hpp"

namespace ce::pg {

namespace {

// The owner, looked up once per backend; dropped when pg_extension changes.
Oid cached_owner = InvalidOid;

void extension_changed(Datum, int, uint32) { cached_owner = InvalidOid; }

Oid lookup_owner() {
    Oid ext = get_extension_oid("concurrent_edit", false);
    HeapTuple tup = SearchSysCache1(EXTENSIONOID, ObjectIdGetDatum(ext));
    Oid owner = BOOTSTRAP_SUPERUSERID;
    if (HeapTupleIsValid(tup)) {
        owner = ((Form_pg_extension)GETSTRUCT(tup))->extowner;
        ReleaseSysCache(tup);
    }
    return owner;
}

}  // namespace

Oid extension_owner() {
    if (!OidIsValid(cached_owner)) cached_owner = lookup_owner();
    return cached_owner;
}

void register_owner_callbacks() { CacheRegisterSyscacheCallback(EXTENSIONOID, extension_changed, Datum(0)); }

OwnerContext::OwnerContext() {
    struct Saved {
        Oid userid;
        int sec;
        int nest;
    };
    Saved s = pg_call([] {
        Saved x;
        GetUserIdAndSecContext(&x.userid, &x.sec);
        SetUserIdAndSecContext(extension_owner(), x.sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
        x.nest = NewGUCNestLevel();
        (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                                true, 0, false);
        PushActiveSnapshot(GetTransactionSnapshot());
        return x;
    });
    saved_user_ = s.userid;
    saved_sec_ = s.sec;
    nest_ = s.nest;
    active_ = true;
}

void OwnerContext::leave() {
    if (!active_) return;
    active_ = false;
    Oid user = saved_user_;
    int sec = saved_sec_;
    int nest = nest_;
    pg_call([user, sec, nest] {
        PopActiveSnapshot();
        AtEOXact_GUC(true, nest);
        SetUserIdAndSecContext(user, sec);
    });
}

void with_owner_context(const std::function<void()>& body) {
    OwnerContext owner;
    body();
    owner.leave();
}

}  // namespace ce::pg
