// The order in which acquirers of one file's lock get it (src/pg/lock_queue.cpp,
// used by acquire_lock in locks.cpp; docs/reference/locks.md, "Waiting").
//
// Two advisory locks per file, both held by transactions:
//  * the acquisition lock: an acquirer holds it while it looks at the holders
//    and inserts its row (shared requests in share mode, exclusive ones
//    exclusively), and keeps it to the end of its transaction once it has the
//    lock; a waiter drops it before it sleeps;
//  * the queue: an exclusive acquirer that has to wait for holders takes it
//    exclusively before its first sleep and keeps it until it gets the lock or
//    gives up; every other acquirer passes through it (takes it in share mode
//    and drops it at once) before it looks at the holders. So, from the first
//    sleep of an exclusive acquirer, later acquirers wait behind it (or are
//    refused when their own wait ends) instead of overtaking it: a stream of
//    overlapping shared locks can no longer keep it out for ever.
// Waits on either are queued in PostgreSQL's lock manager (the deadlock detector
// sees them), bounded by the caller's wait.
#pragma once

#include <functional>
#include <string>

#include "pg/boundary.hpp"
#include "pg/shared.hpp"

namespace ce::pg {

// The caller's lock_waits row (shared memory, shared.hpp), from its first wait
// until acquire_lock ends: got the lock, timed out, was cancelled or failed. A
// wake-up it got and did not use by a look that found the file held, nor by
// taking the lock, is passed on to the file's next waiter when it is cleared.
class LockWaitEntry {
public:
    LockWaitEntry() = default;
    LockWaitEntry(const LockWaitEntry&) = delete;
    LockWaitEntry& operator=(const LockWaitEntry&) = delete;
    ~LockWaitEntry() {
        if (published_) clear_lock_wait(got_lock_, went_ahead_);
    }
    void publish(const LockWait& w) {
        publish_lock_wait(w);
        published_ = true;
    }
    bool published() const { return published_; }
    // The wake-ups so far, read before a look at the holders.
    uint64 wakeups() const { return published_ ? lock_wait_wakeups() : 0; }
    // A look begun after `seen` wake-ups found the file held.
    void found_held(uint64 seen) {
        if (published_) lock_wait_used(seen);
    }
    void got_lock() { got_lock_ = true; }
    // It took its place ahead of later requests (LockQueue::go_ahead): if it ends
    // without the lock, shared requests it kept out may go.
    void went_ahead() { went_ahead_ = true; }

private:
    bool published_ = false;
    bool got_lock_ = false;
    bool went_ahead_ = false;
};

// Run by an acquirer about to wait in the lock manager (for the queue or the
// acquisition lock), once the lock was found taken: acquire_lock publishes its
// lock_waits row there, so that a request waiting in turn is seen as waiting.
using BeforeWait = std::function<void()>;

// How long an acquirer waits at least for another transaction that is acquiring
// a lock on the same file (and holds its acquisition lock until it ends), when
// its own `wait` is shorter: such a transaction is not a holder yet, and one in
// autocommit ends within milliseconds.
constexpr int64 kAcquisitionGraceUs = USECS_PER_SEC;

// The longest a waiting acquire_lock sleeps before it looks at the file again when
// no release wakes it (its session closed meanwhile, say; a release by COMMIT
// PREPARED wakes it: feed.cpp's utility hook).
constexpr long kLookAgainMs = 1000;
// The same when what kept it out was an expired lock another transaction was
// changing: no release wakes it when that ends in an extension (or a rollback).
constexpr long kLookAgainInChangeMs = 20;

// The file's acquisition lock in the mode of `type` ("shared" or "exclusive"),
// waited for until `until` at the latest; false when it was still taken then.
// `*waited` is set when it was not free at once (`before_wait` runs then).
bool take_acquisition_lock(const pg_uuid_t& file_id, TimestampTz until, const std::string& type, bool* waited,
                           const BeforeWait* before_wait = nullptr);
void drop_acquisition_lock(const pg_uuid_t& file_id, const std::string& type);

// The file's write lock (writers hold it exclusively to the end of their
// transaction: file_head.cpp) in share mode, if no write holds it now (never
// waited for in the lock manager: the caller holds the file's acquisition lock,
// which a writer of the file may be about to ask for in the same transaction).
// Taken by an exclusive acquirer or one with require_version, so that no write
// begun before it commits after its lock (or after its look at the head's
// version), and a write begun later waits for its transaction, then sees its
// lock.
bool try_write_share(const pg_uuid_t& file_id);
void drop_write_share(const pg_uuid_t& file_id);

// An acquire_lock call's place in the file's queue.
class LockQueue {
public:
    explicit LockQueue(const pg_uuid_t& file_id);
    LockQueue(const LockQueue&) = delete;
    LockQueue& operator=(const LockQueue&) = delete;
    ~LockQueue() = default;  // an error releases the lock with its (sub)transaction

    // Before looking at the holders: waits (until `until` at the latest) behind an
    // exclusive acquirer waiting ahead; false when one still waited then. Passes at
    // once when this call already waits ahead (ahead()), and when this transaction
    // already acquired a lock on the file (it holds the acquisition lock, which the
    // one waiting ahead may be waiting for). `before_wait` runs before a wait.
    bool pass(TimestampTz until, bool* waited, const BeforeWait* before_wait = nullptr);
    // An exclusive acquirer about to sleep: takes its place ahead of later
    // acquirers, behind one already there (waiting until `until` at the latest);
    // false when that one still waited then. `*waited_behind`: it had to wait
    // (the holders may have changed: look again before sleeping).
    bool go_ahead(TimestampTz until, bool* waited_behind);
    // Got the lock: the next in turn may go.
    void leave();
    bool ahead() const { return ahead_; }

private:
    pg_uuid_t file_id_;
    bool ahead_ = false;
};

}  // namespace ce::pg
