#include "pg/changes.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "pg/spi.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_authid_d.h"
#include "catalog/pg_extension.h"
#include "commands/async.h"
#include "commands/extension.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace ce::pg {
namespace {

struct Queued {
    ChangeEvent ev;
    SubTransactionId subid;
};

// Lives in malloc'd memory; emptied at the end of every transaction.
std::vector<Queued>* queue = nullptr;

bool is_nil(const pg_uuid_t& u) { return uuid_is_null(u); }

void put_uuid(std::string& out, const char* key, const pg_uuid_t& u) {
    out += ", \"";
    out += key;
    out += "\": ";
    if (is_nil(u)) {
        out += "null";
    } else {
        out += '"';
        out += uuid_to_string(u);
        out += '"';
    }
}

std::string payload(const ChangeEvent& e, int64 cursor, bool with_path) {
    std::string out = "{\"event\": ";
    append_json_string(out, e.event);
    out += ", \"cursor\": " + std::to_string(cursor);
    put_uuid(out, "project_id", e.project_id);
    put_uuid(out, "file_id", e.file_id);
    out += ", \"path\": ";
    if (e.path.empty() || !with_path) out += "null"; else append_json_string(out, e.path);
    out += ", \"version\": ";
    out += e.version > 0 ? std::to_string(e.version) : "null";
    out += ", \"content_hash\": ";
    if (e.content_hash.empty()) out += "null"; else append_json_string(out, e.content_hash);
    put_uuid(out, "session_id", e.session_id);
    put_uuid(out, "author", e.author);
    if (!e.extra.empty()) {
        out += ", ";
        out += e.extra;
    }
    out += '}';
    return out;
}

std::string extra_object(const ChangeEvent& e) { return "{" + e.extra + "}"; }

void flush(bool notify) {
    if (queue == nullptr || queue->empty()) return;
    std::vector<ChangeEvent> events;
    events.reserve(queue->size());
    for (auto& q : *queue) events.push_back(std::move(q.ev));
    queue->clear();
    std::stable_sort(events.begin(), events.end(), [](const ChangeEvent& a, const ChangeEvent& b) {
        return std::memcmp(a.project_id.data, b.project_id.data, UUID_LEN) < 0;
    });

    static Statement advance(
        "INSERT INTO concurrent_edit.change_feeds AS f (project_id, last_cursor) VALUES ($1, $2) "
        "ON CONFLICT (project_id) DO UPDATE SET last_cursor = f.last_cursor + EXCLUDED.last_cursor "
        "RETURNING f.last_cursor",
        {UUIDOID, INT8OID});
    static Statement insert(
        "INSERT INTO concurrent_edit.change_log (project_id, cursor, event, file_id, path, version, "
        "content_hash, session_id, author, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)",
        {UUIDOID, INT8OID, TEXTOID, UUIDOID, TEXTOID, INT4OID, TEXTOID, UUIDOID, UUIDOID, TEXTOID});

    // Run as the extension's owner with a pinned search_path: the feed tables are not
    // writable by applications, and the session's search_path must not resolve
    // anything in these statements.
    struct Saved {
        Oid userid;
        int sec;
        int nest;
    };
    Saved saved = pg_call([] {
        Saved s;
        GetUserIdAndSecContext(&s.userid, &s.sec);
        Oid ext = get_extension_oid("concurrent_edit", false);
        HeapTuple tup = SearchSysCache1(EXTENSIONOID, ObjectIdGetDatum(ext));
        Oid owner = HeapTupleIsValid(tup) ? ((Form_pg_extension)GETSTRUCT(tup))->extowner : BOOTSTRAP_SUPERUSERID;
        if (HeapTupleIsValid(tup)) ReleaseSysCache(tup);
        SetUserIdAndSecContext(owner, s.sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
        s.nest = NewGUCNestLevel();
        (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                                GUC_ACTION_SAVE, true, 0, false);
        // At pre-commit no portal is active: SPI needs a snapshot to run in.
        PushActiveSnapshot(GetTransactionSnapshot());
        return s;
    });

    Spi spi;
    std::size_t i = 0;
    while (i < events.size()) {
        std::size_t j = i;
        while (j < events.size() &&
               std::memcmp(events[j].project_id.data, events[i].project_id.data, UUID_LEN) == 0)
            ++j;
        int64 n = static_cast<int64>(j - i);
        Rows r = advance.run({uuid_datum(events[i].project_id), Int64GetDatum(n)});
        int64 last = r.int8(0, 0);
        std::string channel = channel_name(events[i].project_id);
        for (std::size_t k = i; k < j; ++k) {
            const ChangeEvent& e = events[k];
            int64 cursor = last - n + 1 + static_cast<int64>(k - i);
            std::string nulls(10, ' ');
            if (is_nil(e.file_id)) nulls[3] = 'n';
            if (e.path.empty()) nulls[4] = 'n';
            if (e.version <= 0) nulls[5] = 'n';
            if (e.content_hash.empty()) nulls[6] = 'n';
            if (is_nil(e.session_id)) nulls[7] = 'n';
            if (is_nil(e.author)) nulls[8] = 'n';
            insert.run({uuid_datum(e.project_id), Int64GetDatum(cursor), text_datum(e.event),
                        uuid_datum(e.file_id), text_datum(e.path), Int32GetDatum(e.version),
                        text_datum(e.content_hash), uuid_datum(e.session_id), uuid_datum(e.author),
                        text_datum(extra_object(e))},
                       nulls);
            if (notify) {
                std::string p = payload(e, cursor, true);
                if (p.size() >= 8000) p = payload(e, cursor, false);  // NOTIFY payloads are capped at 8000 bytes
                const char* ch = channel.c_str();
                const char* pl = p.c_str();
                pg_call([ch, pl] { Async_Notify(ch, pl); });
            }
        }
        i = j;
    }
    spi.finish();
    pg_call([saved] {
        PopActiveSnapshot();
        AtEOXact_GUC(true, saved.nest);
        SetUserIdAndSecContext(saved.userid, saved.sec);
    });
}

void xact_callback(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
        case XACT_EVENT_PRE_PREPARE:
            if (queue != nullptr && !queue->empty()) {
                bool notify = event == XACT_EVENT_PRE_COMMIT;  // NOTIFY cannot be prepared
                guard([notify]() -> Datum {
                    flush(notify);
                    return 0;
                });
            }
            break;
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PREPARE:
        case XACT_EVENT_PARALLEL_COMMIT:
        case XACT_EVENT_PARALLEL_ABORT:
            if (queue != nullptr) queue->clear();
            break;
        default:
            break;
    }
}

void subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId, void*) {
    // Subtransaction ids grow within a transaction: events queued by the aborted
    // subtransaction or by any of its (committed) children have ids >= mySubid.
    if (event == SUBXACT_EVENT_ABORT_SUB && queue != nullptr) {
        queue->erase(std::remove_if(queue->begin(), queue->end(),
                                    [mySubid](const Queued& q) { return q.subid >= mySubid; }),
                     queue->end());
    }
}

}  // namespace

void queue_change(ChangeEvent event) {
    if (queue == nullptr) queue = new std::vector<Queued>();
    SubTransactionId subid = pg_call([] { return GetCurrentSubTransactionId(); });
    queue->push_back(Queued{std::move(event), subid});
}

std::string channel_name(const pg_uuid_t& project_id) {
    static const char hex[] = "0123456789abcdef";
    std::string s = "concurrent_edit_";
    for (unsigned char b : project_id.data) {
        s.push_back(hex[b >> 4]);
        s.push_back(hex[b & 15]);
    }
    return s;
}

void append_json_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out.push_back('"');
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out.push_back(hex[c >> 4]);
                    out.push_back(hex[c & 15]);
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
    }
    out.push_back('"');
}

void register_change_callbacks() {
    RegisterXactCallback(xact_callback, nullptr);
    RegisterSubXactCallback(subxact_callback, nullptr);
}

}  // namespace ce::pg
