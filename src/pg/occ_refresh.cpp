// occ_refresh_images(), which (re)captures the images of a table's rows
// (occ_images.hpp), in memory bounded by concurrent_edit.max_merge_memory.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "pg/guc.hpp"
#include "pg/occ_images.hpp"
#include "pg/owner.hpp"
#include "pg/results.hpp"

namespace ce::pg {
namespace {

// Rows read from the table's cursor at a time (their large values are still
// toast pointers then: a fetch holds at most a page's bytes a row).
constexpr long kFetchRows = 1000;

// The rows waiting for their images: each a composite datum of the table's row
// type (flattened), with its key, version and project. Flushed when one more row
// would make the images take more than max_merge_memory (kKeepImageFactor per
// byte of their values), or at kFetchRows rows.
struct Pending {
    std::vector<Datum> rows;
    std::vector<std::string> keys;
    std::vector<int64> versions;
    std::vector<pg_uuid_t> projects;
    std::size_t bytes = 0;
    void clear() {
        rows.clear();
        keys.clear();
        versions.clear();
        projects.clear();
        bytes = 0;
    }
};

}  // namespace
}  // namespace ce::pg

using namespace ce::pg;

// occ_refresh_images(tbl regclass) RETURNS bigint
//   Drops the kept images of a table and, when it is in merge mode, keeps the
//   current image of every row (the possible merge bases). Only for ordinary or
//   partitioned tables the caller owns. The rows are read as the table's owner
//   (security-restricted), in batches; only the computed images are stored in the
//   extension owner's context. As the AFTER trigger does, a row whose image would
//   take more than concurrent_edit.max_merge_memory to make keeps none (a NOTICE
//   counts them), and the images of a batch together stay within that setting.
CE_PRIMARY_FUNCTION(ce_occ_refresh_images, "occ_refresh_images") {
    require_arg(fcinfo, 0, "tbl");
    Oid relid = PG_GETARG_OID(0);
    Oid caller = GetUserId();
    struct RelInfo {
        char kind;
        bool found;
        bool owner;
    };
    RelInfo info = pg_call([relid, caller] {
        RelInfo i{0, false, false};
        i.kind = get_rel_relkind(relid);
        i.found = i.kind != '\0';
        if (i.found) i.owner = pg_class_ownercheck(relid, caller);
        return i;
    });
    if (!info.found)
        throw SqlError(ERRCODE_UNDEFINED_TABLE, "relation with OID " + std::to_string(relid) + " does not exist",
                       "{\"argument\": \"tbl\"}");
    std::string name = relation_name(relid);
    if (info.kind != RELKIND_RELATION && info.kind != RELKIND_PARTITIONED_TABLE)
        throw SqlError(ERRCODE_WRONG_OBJECT_TYPE, name + " is not a table",
                       "{\"argument\": \"tbl\", \"relkind\": \"" + std::string(1, info.kind) + "\"}",
                       "Optimistic concurrency works on ordinary and partitioned tables.");
    if (!info.owner)
        throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE, "must be owner of table " + name,
                       "{\"argument\": \"tbl\", \"needs\": \"owner\"}");
    Spi spi;
    // The table's configuration, from its own trigger (created by its owner), as
    // the relation cache holds its arguments: names in any encoding, with any
    // character (read back from pg_trigger.tgargs as text, they were escaped).
    // Its key, row type and owner come with it (used in merge mode).
    std::string version_column, mode, project_column;
    std::string key_sql;  // the row's key, of t
    std::string image;    // the image of the row ($1)[i]
    TupleDesc desc;       // a copy: the rows are rebuilt in it
    Oid array_type;
    Oid table_owner;
    Oid through = InvalidOid;
    {
        // Locked first: a table dropped meanwhile is then refused, not read.
        Relation r = pg_call([relid] {
            LockRelationOid(relid, AccessShareLock);
            Relation x = RelationIdGetRelation(relid);
            if (x == nullptr)
                ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relid),
                                errdetail("{\"argument\": \"tbl\"}")));
            return x;
        });
        if (r->trigdesc != nullptr) {
            for (int i = 0; i < r->trigdesc->numtriggers; ++i) {
                const Trigger& t = r->trigdesc->triggers[i];
                if (t.tgisinternal || std::strcmp(t.tgname, "concurrent_edit_occ") != 0 || t.tgnargs < 8) continue;
                // A partition's trigger is its partitioned table's, and so are
                // the images of its rows (kept under that table's name).
                if (t.tgisclone) through = image_relation(&t, r);
                version_column = t.tgargs[0];
                mode = t.tgargs[1];
                project_column = t.tgargs[7];
            }
        }
        key_sql = key_object_sql(RelationGetDescr(r), primary_key_atts(r), "t");
        image = row_image_sql(RelationGetDescr(r), "($1)[i]", true);
        desc = pg_call([r] { return CreateTupleDescCopy(RelationGetDescr(r)); });
        Oid rowtype = r->rd_rel->reltype;
        array_type = pg_call([rowtype] { return get_array_type(rowtype); });
        table_owner = r->rd_rel->relowner;
        pg_call([r] { RelationClose(r); });
    }
    if (OidIsValid(through) && through != relid) {
        std::string table = relation_name(through);
        throw SqlError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                       name + " is a partition of " + table + ", which has optimistic concurrency",
                       ce::Detail().add("argument", "tbl").add("table", name).add("through", table),
                       "Refresh the images of " + table + ": the images of its partitions' rows are kept under its name.");
    }
    static Statement forget("DELETE FROM concurrent_edit.occ_row_versions v WHERE v.relation = $1", {TEXTOID});
    {
        OwnerContext owner;
        forget.run(spi, {text_datum(name)});
        owner.leave();
    }
    int64 kept = 0, too_large = 0;
    if (mode == "merge") {
        if (!OidIsValid(array_type))
            throw SqlError(ERRCODE_WRONG_OBJECT_TYPE, name + " has no array type of its row type",
                           "{\"argument\": \"tbl\"}");
        // Read with a cursor; each batch is stored in the extension owner's
        // context only after it was fetched (no fetch runs as it).
        // The rows are read as the table's owner, in a security-restricted
        // operation, as VACUUM and ANALYZE read a table: what to_jsonb runs of the
        // owner's (a cast, a type's output function) never runs with the caller's
        // rights, which may be a superuser's (enable_occ as a superuser, the update
        // from 1.0, a DBA refreshing the images).
        // Settings the owner's code changes (set_config(..., false) included) are
        // undone when the read returns, as VACUUM undoes them: the caller's session
        // must not keep a search_path the owner chose, and each read starts from
        // the image settings `pinned` (below) holds for the whole refresh. (On an
        // error the guard restores the identity and the abort the settings.)
        auto as_table_owner = [table_owner](auto&& read) {
            Oid user;
            int sec;
            GetUserIdAndSecContext(&user, &sec);
            SetUserIdAndSecContext(table_owner, sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
            int nest = NewGUCNestLevel();
            auto result = read();
            AtEOXact_GUC(false, nest);
            SetUserIdAndSecContext(user, sec);
            return result;
        };
        // The cursor returns the key, version and project of each row, and its
        // columns (t.*) as they are stored: a large value stays a toast pointer
        // until the row is chosen to keep an image, so a row too large for one is
        // never flattened nor turned into JSON.
        std::string version = pg_call([&] { return quote_identifier(version_column.c_str()); });
        std::string sql = "SELECT (" + key_sql + ")::text, t." + version + "::bigint, " +
                          (project_column.empty()
                               ? std::string("NULL::uuid")
                               : "t." + std::string(pg_call([&] { return quote_identifier(project_column.c_str()); })) +
                                     "::text") +
                          ", t.* FROM " + name + " t WHERE t." + version + " IS NOT NULL";
        // The images of a batch of rows ($1, an array of the table's row type), in
        // its order.
        std::string image_sql =
            "SELECT (" + image + ")::text FROM pg_catalog.generate_subscripts($1, 1) i ORDER BY i";
        PinnedSearchPath pinned;
        struct Plans {
            Portal portal;
            SPIPlanPtr images;
        };
        Plans plans = pg_call([&] {
            SPIPlanPtr plan = SPI_prepare(sql.c_str(), 0, nullptr);
            if (plan == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
            SPIPlanPtr images = SPI_prepare(image_sql.c_str(), 1, &array_type);
            if (images == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
            return Plans{as_table_owner([&] { return SPI_cursor_open(nullptr, plan, nullptr, nullptr, true); }),
                         images};
        });
        static Statement store(
            "INSERT INTO concurrent_edit.occ_row_versions (project_id, relation, row_key, version, row_data) "
            "SELECT p, $1, k::jsonb, v, d::jsonb "
            "FROM unnest($2::text[], $3::bigint[], $4::text[], $5::uuid[]) AS u(k, v, d, p)",
            {TEXTOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID, UUIDARRAYOID});
        const std::size_t budget = max_merge_memory_bytes();
        // The pending rows' flattened copies live in `batch_memory`, reset at
        // each flush; each fetch's tuple table is freed once its rows are taken.
        MemoryContext batch_memory = own_context("occ_refresh_images batch", false);
        Pending pending;
        // Makes the pending rows' images (as the table's owner) and stores them
        // (as the extension owner).
        auto flush = [&]() {
            if (pending.rows.empty()) return;
            check_interrupts();
            std::vector<std::string> images;
            Datum* rows = pending.rows.data();
            int nrows = static_cast<int>(pending.rows.size());
            spi.next_generation();
            Datum array = run_in(batch_memory, [&] {
                return PointerGetDatum(construct_array(rows, nrows, desc->tdtypeid, -1, false, TYPALIGN_DOUBLE));
            });
            SPITupleTable* table = pg_call([&] {
                Datum args[1] = {array};
                int rc = as_table_owner([&] { return SPI_execute_plan(plans.images, args, nullptr, true, 0); });
                if (rc != SPI_OK_SELECT || SPI_processed != static_cast<uint64>(nrows))
                    elog(ERROR, "occ_refresh_images: %d images for %d rows", static_cast<int>(SPI_processed), nrows);
                return SPI_tuptable;
            });
            {
                Rows r(spi, table, static_cast<uint64>(nrows));
                for (int i = 0; i < nrows; ++i) images.push_back(r.text(static_cast<uint64>(i), 0));
            }
            pg_call([table] { SPI_freetuptable(table); });
            pg_call([batch_memory] { MemoryContextReset(batch_memory); });  // the rows and the array
            MemoryContext outer = pg_call([batch_memory] { return MemoryContextSwitchTo(batch_memory); });
            std::vector<Datum> vd;
            for (int64 x : pending.versions) vd.push_back(Int64GetDatum(x));
            Datum* vp = vd.data();
            int vn = static_cast<int>(vd.size());
            Datum versions =
                pg_call([vp, vn] { return PointerGetDatum(construct_array(vp, vn, INT8OID, 8, true, TYPALIGN_DOUBLE)); });
            Datum projects = uuid_array_datum(pending.projects);
            Datum keys = text_array_datum(pending.keys);
            Datum data = text_array_datum(images);
            images.clear();
            images.shrink_to_fit();
            OwnerContext owner;
            store.run(spi, {text_datum(name), keys, versions, data, projects});
            owner.leave();
            pg_call([outer, batch_memory] {
                MemoryContextSwitchTo(outer);
                MemoryContextReset(batch_memory);
            });
            kept += nrows;
            pending.clear();
        };
        // Each fetch's rows, rebuilt in the table's layout (t.* skips dropped
        // columns) in `fetch_memory` with their large values still toast
        // pointers, so that the fetch's tuple table is freed before any image is
        // made; reset at the next fetch.
        MemoryContext fetch_memory = own_context("occ_refresh_images fetch", false);
        struct Fetched {
            std::string key;
            int64 version;
            pg_uuid_t project;
            HeapTuple row;
            std::size_t bytes;
        };
        const int natts = desc->natts;
        std::vector<Datum> values(static_cast<std::size_t>(natts));
        std::unique_ptr<bool[]> nulls(new bool[static_cast<std::size_t>(natts)]);
        for (;;) {
            check_interrupts();
            spi.next_generation();
            pg_call([fetch_memory] { MemoryContextReset(fetch_memory); });
            uint64 n = pg_call([&plans, &as_table_owner] {
                return as_table_owner([&plans] {
                    SPI_cursor_fetch(plans.portal, true, kFetchRows);
                    return SPI_processed;
                });
            });
            if (n == 0) break;
            std::vector<Fetched> fetched;
            {
                Rows r(spi, pg_call([] { return SPI_tuptable; }), n);
                TupleDesc got_desc = r.tupdesc();
                for (uint64 i = 0; i < n; ++i) {
                    HeapTuple got = r.tuple(i);
                    HeapTuple row = run_in(fetch_memory, [&] {
                        int col = 4;  // after key, version and project
                        for (int a = 0; a < natts; ++a) {
                            bool isnull = true;
                            Datum d = 0;
                            if (!TupleDescAttr(desc, a)->attisdropped) d = heap_getattr(got, col++, got_desc, &isnull);
                            values[a] = d;
                            nulls[a] = isnull;
                        }
                        return heap_form_tuple(desc, values.data(), nulls.get());
                    });
                    std::string key = r.text(i, 0);
                    pg_uuid_t project = r.isnull(i, 2) ? pg_uuid_t{}
                                                       : project_from_text(r.text(i, 2), relid, project_column.c_str(), &key);
                    fetched.push_back(Fetched{key, r.int8(i, 1), project, row, row_raw_bytes(desc, row)});
                }
                r.release();
            }
            for (const Fetched& f : fetched) {
                check_image_key(f.project, name, f.key);
                if (kKeepImageFactor * f.bytes > budget) {
                    ++too_large;
                    continue;
                }
                if (pending.rows.size() >= static_cast<std::size_t>(kFetchRows) ||
                    kKeepImageFactor * (pending.bytes + f.bytes) > budget)
                    flush();
                // Flattened (its toasted values fetched) while the cursor's
                // snapshot still holds them.
                HeapTuple row = f.row;
                Datum composite = run_in(batch_memory, [&] { return heap_copy_tuple_as_datum(row, desc); });
                pending.rows.push_back(composite);
                pending.keys.push_back(f.key);
                pending.versions.push_back(f.version);
                pending.projects.push_back(f.project);
                pending.bytes += f.bytes;
            }
        }
        flush();
        pg_call([&plans] { SPI_cursor_close(plans.portal); });
        pinned.leave();
    }
    spi.finish();
    if (too_large > 0)
        pg_call([too_large, &name] {
            ereport(NOTICE,
                    (errmsg("%lld row(s) of %s keep no image: making it would take more than "
                            "concurrent_edit.max_merge_memory",
                            static_cast<long long>(too_large), name.c_str()),
                     errdetail("{\"relation\": \"%s\", \"rows_without_image\": %lld}", name.c_str(),
                               static_cast<long long>(too_large)),
                     errhint("A stale update from such a row's version is refused (VC001) instead of merged.")));
        });
    return Int64GetDatum(kept);
}
