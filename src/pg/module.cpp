// Module entry point: magic block and _PG_init. The foundation's SQL functions are in
// foundation.cpp.
#include "concurrent_edit/interrupt.hpp"
#include "pg/advisory.hpp"
#include "pg/access.hpp"
#include "pg/feed.hpp"
#include "pg/file_head.hpp"
#include "pg/guc.hpp"
#include "pg/occ_merge.hpp"
#include "pg/owner.hpp"
#include "pg/shared.hpp"
#include "pg/spi.hpp"
#include "pg/stats.hpp"
#include "pg/worker.hpp"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

void _PG_init(void) {
    ce::set_interrupt_hook(&ce::pg::check_interrupts);
    ce::pg::load_lock_key();  // before any lock tag is made (in the postmaster when preloaded)
    ce::pg::define_gucs();
    ce::pg::register_feed_callbacks();
    ce::pg::register_file_head_callbacks();
    ce::pg::register_access_callbacks();
    ce::pg::register_owner_callbacks();
    ce::pg::install_planner_hook();
    ce::pg::install_merge_tracking();
    // Under pg_upgrade (binary upgrade mode) the server must run no worker of ours and
    // touch no table of ours: only the SQL functions are loaded, as pg_cron does.
    if (process_shared_preload_libraries_in_progress && !IsBinaryUpgrade) {
        ce::pg::install_shmem_hooks();
        ce::pg::stats::install_hooks();
        ce::pg::register_worker();
    }
}
