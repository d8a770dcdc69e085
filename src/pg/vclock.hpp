// vclock Datums for glue code outside vclock.cpp (writes stamp versions with clocks).
#pragma once

#include <string_view>

#include "pg/pg_headers.hpp"

namespace ce::pg {

// A vclock Datum holding `encoded` (ce::VClock::encode(), the canonical bytes).
Datum vclock_datum(std::string_view encoded);

}  // namespace ce::pg
