// The order in which acquirers of one file's lock get it: the acquisition lock
// and the queue (lock_queue.hpp).
#include "pg/lock_queue.hpp"

#include <algorithm>
#include <climits>

#include "pg/advisory.hpp"

namespace ce::pg {
namespace {

LOCKTAG acquisition_tag(const pg_uuid_t& file_id) { return uuid_lock_tag(file_id, LockClass::lock_acquisition); }
LOCKTAG queue_tag(const pg_uuid_t& file_id) { return uuid_lock_tag(file_id, LockClass::lock_queue); }

// Shared requests take the acquisition lock in share mode: they never conflict
// with each other, so only an exclusive request and another request of the file
// serialize.
LOCKMODE acquisition_mode(const std::string& type) { return type == "shared" ? ShareLock : ExclusiveLock; }

// Sets PostgreSQL's lock_timeout for one lock wait and puts it back, also when
// the wait ends in an error (a plain assignment in the destructor).
class LockTimeoutFor {
public:
    explicit LockTimeoutFor(int ms) : saved_(LockTimeout) {
        if (saved_ <= 0 || ms < saved_) LockTimeout = ms;  // the session's own, if shorter, stays
    }
    LockTimeoutFor(const LockTimeoutFor&) = delete;
    LockTimeoutFor& operator=(const LockTimeoutFor&) = delete;
    ~LockTimeoutFor() { LockTimeout = saved_; }

private:
    int saved_;
};

// Both locks are owned by the transaction (CurTransactionResourceOwner), whether
// taken at once or after a wait in a subtransaction (whose commit hands its locks
// to that owner), so that dropping them finds them.
template <typename F>
auto as_transaction_owner(F&& f) -> decltype(f()) {
    return pg_call([&f] {
        ResourceOwner saved = CurrentResourceOwner;
        CurrentResourceOwner = CurTransactionResourceOwner;
        PG_TRY();
        { f(); }
        PG_FINALLY();
        { CurrentResourceOwner = saved; }
        PG_END_TRY();
    });
}

// Marks the caller's lock wait (if published) as queued in the lock manager for
// its lifetime (lock_wait_in_turn): releases pass it over; with `pass_on`, a
// wake-up it got goes to the next waiter.
class InTurn {
public:
    explicit InTurn(bool pass_on) { lock_wait_in_turn(true, pass_on); }
    InTurn(const InTurn&) = delete;
    InTurn& operator=(const InTurn&) = delete;
    ~InTurn() { lock_wait_in_turn(false, false); }
};

// `tag` in `mode`, waited for until `until` at the latest: a transaction holding
// it may stay open, and must not hold up the caller beyond its wait. The wait is
// queued in PostgreSQL's lock manager with lock_timeout set to what is left,
// inside a subtransaction: past it, the lock timeout is rolled back and false
// returned, for acquire_lock to refuse with its own 55P03. `*waited` is set when
// the lock was not free at once; `before_wait` (if any) runs then, before the wait.
// `pass_on`: the lock is the queue, held by the exclusive request waiting ahead,
// to which a wake-up the caller got belongs.
bool take_until(const LOCKTAG& tag, LOCKMODE mode, TimestampTz until, bool* waited, const BeforeWait* before_wait,
                bool pass_on) {
    bool got = false;
    as_transaction_owner([&tag, mode, &got] { got = LockAcquire(&tag, mode, false, true) != LOCKACQUIRE_NOT_AVAIL; });
    if (got) return true;
    *waited = true;
    if (before_wait != nullptr && *before_wait) (*before_wait)();
    TimestampTz now = pg_call([] { return GetCurrentTimestamp(); });
    int64 left_ms = until <= now ? 1 : (until - now + 999) / 1000;
    return subtransaction_unless(ERRCODE_LOCK_NOT_AVAILABLE, [&] {
        LockTimeoutFor timeout(static_cast<int>(std::min<int64>(left_ms, INT_MAX)));
        InTurn in_turn(pass_on);
        pg_call([&tag, mode] { (void)LockAcquire(&tag, mode, false, false); });
    });
}

void drop(const LOCKTAG& tag, LOCKMODE mode) {
    as_transaction_owner([&tag, mode] { (void)LockRelease(&tag, mode, false); });
}

}  // namespace

bool take_acquisition_lock(const pg_uuid_t& file_id, TimestampTz until, const std::string& type, bool* waited,
                           const BeforeWait* before_wait) {
    return take_until(acquisition_tag(file_id), acquisition_mode(type), until, waited, before_wait, false);
}

void drop_acquisition_lock(const pg_uuid_t& file_id, const std::string& type) {
    drop(acquisition_tag(file_id), acquisition_mode(type));
}

bool try_write_share(const pg_uuid_t& file_id) {
    LOCKTAG tag = uuid_lock_tag(file_id, LockClass::file_write);
    bool got = false;
    as_transaction_owner([&tag, &got] { got = LockAcquire(&tag, ShareLock, false, true) != LOCKACQUIRE_NOT_AVAIL; });
    return got;
}

void drop_write_share(const pg_uuid_t& file_id) { drop(uuid_lock_tag(file_id, LockClass::file_write), ShareLock); }

LockQueue::LockQueue(const pg_uuid_t& file_id) : file_id_(file_id) {}

bool LockQueue::pass(TimestampTz until, bool* waited, const BeforeWait* before_wait) {
    if (ahead_) return true;
    LOCKTAG acq = acquisition_tag(file_id_);
    bool acquired_before =
        pg_call([&acq] { return LockHeldByMe(&acq, ShareLock) || LockHeldByMe(&acq, ExclusiveLock); });
    if (acquired_before) return true;
    LOCKTAG tag = queue_tag(file_id_);
    if (!take_until(tag, ShareLock, until, waited, before_wait, true)) return false;
    drop(tag, ShareLock);
    return true;
}

bool LockQueue::go_ahead(TimestampTz until, bool* waited_behind) {
    if (ahead_) return true;
    if (!take_until(queue_tag(file_id_), ExclusiveLock, until, waited_behind, nullptr, true)) return false;
    ahead_ = true;
    return true;
}

void LockQueue::leave() {
    if (!ahead_) return;
    ahead_ = false;
    drop(queue_tag(file_id_), ExclusiveLock);
}

}  // namespace ce::pg
