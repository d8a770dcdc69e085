// The background worker: registered by _PG_init when preloaded.
#pragma once

namespace ce::pg {
void register_worker();
}
