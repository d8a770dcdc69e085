#include "pg/autonomous.hpp"

#include <cstring>

#include "pg/feed.hpp"
#include "pg/owner.hpp"
#include "pg/spi.hpp"

extern "C" {
PGDLLEXPORT void ce_conflict_recorder_main(Datum arg);
}

namespace ce::pg {
namespace {

struct Extra {
    Oid database;
    Oid user;
};

}  // namespace

void record_row_conflict(const pg_uuid_t& project_id, const std::string& relation, const std::string& row_key,
                         int64 base_version, int64 ours_version, const std::string& details) {
    // The nil uuid (tables without a project column) is a real key here, never JSON null.
    std::string payload = "{\"project_id\": \"" + uuid_to_string(project_id) + "\", \"role\": " +
                          std::to_string(GetUserId()) + ", \"relation\": ";
    append_json_string(payload, relation);
    payload += ", \"row_key\": " + row_key + ", \"base_version\": " + std::to_string(base_version) +
               ", \"ours_version\": " + std::to_string(ours_version) + ", \"details\": " + details + "}";
    const char* data = payload.c_str();
    std::size_t len = payload.size() + 1;
    pg_call([data, len] {
        dsm_segment* seg = dsm_create(len, 0);
        std::memcpy(dsm_segment_address(seg), data, len);
        dsm_handle handle = dsm_segment_handle(seg);
        // Outlives this backend's transaction (which is about to abort): the worker unpins it.
        dsm_pin_segment(seg);
        BackgroundWorker w;
        memset(&w, 0, sizeof(w));
        w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
        w.bgw_start_time = BgWorkerStart_RecoveryFinished;
        w.bgw_restart_time = BGW_NEVER_RESTART;
        snprintf(w.bgw_library_name, BGW_MAXLEN, "concurrent_edit");
        snprintf(w.bgw_function_name, BGW_MAXLEN, "ce_conflict_recorder_main");
        snprintf(w.bgw_name, BGW_MAXLEN, "concurrent_edit conflict recorder");
        snprintf(w.bgw_type, BGW_MAXLEN, "concurrent_edit conflict recorder");
        w.bgw_main_arg = UInt32GetDatum(handle);
        Extra extra{MyDatabaseId, extension_owner()};
        memcpy(w.bgw_extra, &extra, sizeof(extra));
        w.bgw_notify_pid = 0;
        if (!RegisterDynamicBackgroundWorker(&w, nullptr)) {
            dsm_unpin_segment(handle);
            ereport(WARNING, (errmsg("could not start a background worker to record the row conflict"),
                              errhint("Raise max_worker_processes.")));
        }
        dsm_detach(seg);
    });
}

}  // namespace ce::pg

using namespace ce::pg;

void ce_conflict_recorder_main(Datum arg) {
    BackgroundWorkerUnblockSignals();
    Extra extra;
    memcpy(&extra, MyBgworkerEntry->bgw_extra, sizeof(extra));
    BackgroundWorkerInitializeConnectionByOid(extra.database, extra.user, 0);
    dsm_handle handle = DatumGetUInt32(arg);
    dsm_segment* seg = dsm_attach(handle);
    if (seg == nullptr) proc_exit(0);
    char* payload = MemoryContextStrdup(TopMemoryContext, static_cast<const char*>(dsm_segment_address(seg)));
    dsm_unpin_segment(handle);
    dsm_detach(seg);

    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    pgstat_report_activity(STATE_RUNNING, "concurrent_edit: recording a row conflict");
    guard([payload]() -> Datum {
        with_owner_context([payload] {
            static Statement ins(
                "WITH p AS (SELECT $1::jsonb AS p) "
                "INSERT INTO concurrent_edit.conflict_history (project_id, kind, row_relation, row_key, base_version, "
                "    ours_version, strategy, details, created_role) "
                "SELECT (p ->> 'project_id')::uuid, 'row', p ->> 'relation', p -> 'row_key', "
                "       least((p ->> 'base_version')::bigint, 2147483647)::integer, "
                "       least((p ->> 'ours_version')::bigint, 2147483647)::integer, 'trigger-merge', p -> 'details', "
                "       (p ->> 'role')::oid "
                "FROM p RETURNING id, project_id",
                {TEXTOID});
            Spi spi;
            ChangeEvent ev;
            {
                Rows r = ins.run(spi, {text_datum(payload)});
                ev.event = "conflict";
                ev.project_id = r.uuid(0, 1);
                ev.extra = "\"conflict_id\": " + json_uuid(r.uuid(0, 0)) + ", \"kind\": \"row\"";
            }
            queue_change(spi, std::move(ev));
            spi.finish();
        });
        return 0;
    });
    CommitTransactionCommand();
    pgstat_report_activity(STATE_IDLE, nullptr);
    proc_exit(0);
}
