// The sequencer of the change feed, behind feed.cpp (docs/reference/feed.md): it
// numbers events into change_log under the project's feed row lock and NOTIFYs
// them, whether they come from the pending tables (sequence_pending, declared in
// feed.hpp) or were kept in the backend until the commit (sequence_local).
// feed.cpp queues the events; only it includes this header.
#pragma once

#include <string>
#include <vector>

#include "pg/feed.hpp"

namespace ce::pg {

// An event kept in the backend until its transaction commits (feed.cpp), with the
// subtransaction that made it: a rolled-back savepoint drops its events.
struct LocalEvent {
    ChangeEvent ev;
    SubTransactionId subid;
};

// The parameters $1..$9 of an event's statements (project first), and their null
// flags.
std::vector<Datum> event_args(const ChangeEvent& e);
std::string event_nulls(const ChangeEvent& e);

// In feed.cpp: whether this transaction put events of `p` into the pending
// tables, and putting one there.
bool has_own_pending(const pg_uuid_t& p);
void insert_pending(Spi& spi, const ChangeEvent& e);

// Numbers the transaction's local events into change_log at its commit (below).
void sequence_local(Spi& spi, std::vector<LocalEvent>& events, bool worker);

}  // namespace ce::pg
