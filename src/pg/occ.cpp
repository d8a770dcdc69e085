// Optimistic concurrency triggers for any table (enable_occ):
//
//   BEFORE UPDATE (ce_occ_trigger): the UPDATE sets the version column to the version
//   it read. Current: version = read + 1, modified-by/at filled. Stale: mode reject
//   raises VC001 with a JSON DETAIL; mode merge merges the stale row column by column
//   against the image of the version the client read (jsonb key by key, text line by
//   line), raising VC001 with the conflicting paths only on a real conflict (the
//   conflict is recorded in conflict_history by an autonomous worker, since the
//   error rolls back the transaction). An UPDATE that does not set the version
//   column is a blind write: refused in strict mode, else treated as current.
//
//   AFTER INSERT OR UPDATE (ce_occ_after): in merge mode keeps the row image of the
//   new version (the newest concurrent_edit.occ_history_versions per row); with
//   notify sends {"table", "key", "version"} on occ_channel(table).
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "concurrent_edit/json.hpp"
#include "concurrent_edit/json_merge.hpp"
#include "concurrent_edit/merge.hpp"
#include "pg/autonomous.hpp"
#include "pg/boundary.hpp"
#include "pg/changes.hpp"
#include "pg/guc.hpp"
#include "pg/json_jsonb.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/sysattr.h"
#include "access/xact.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "nodes/bitmapset.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

namespace ce::pg {
namespace {

// The trigger's configuration, decoded from its arguments in step 1: plain data
// only (an ereport may still follow), the C++ containers are built in the guard.
struct OccConfig {
    int version_att = 0;
    Oid version_type = InvalidOid;
    bool merge = false;
    bool strict = false;
    int modified_by_att = 0, modified_at_att = 0, project_att = 0;
    bool notify = false;
    const char* merge_columns = "";  // comma-separated; empty: every other column
    const char* array_mode = "auto";
    const char* pk = "";             // comma-separated primary key columns
};

// enable_occ() passes booleans through format('%L'): 't'/'f' (or 'true'/'false').
bool arg_true(const char* s) { return s != nullptr && (std::strcmp(s, "t") == 0 || std::strcmp(s, "true") == 0); }

// Plain data read in step 1 (argument decoding) of a trigger call.
struct TriggerCall {
    Relation rel;
    TupleDesc desc;
    HeapTuple old_tuple, new_tuple;
    char** args;
    int nargs;
    const Bitmapset* updated_cols;
};

int attnum_or_zero(TupleDesc desc, const char* name) {
    if (name == nullptr || *name == '\0') return 0;
    int n = SPI_fnumber(desc, name);
    return n > 0 ? n : 0;
}

std::vector<std::string> split_csv(const char* s) {
    std::vector<std::string> out;
    if (s == nullptr || *s == '\0') return out;
    std::string cur;
    for (const char* p = s; *p; ++p) {
        if (*p == ',') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(*p);
        }
    }
    out.push_back(cur);
    return out;
}

int64 version_value(HeapTuple t, const OccConfig& c, TupleDesc desc, bool* isnull) {
    Datum d = heap_getattr(t, c.version_att, desc, isnull);
    if (*isnull) return 0;
    switch (c.version_type) {
        case INT2OID: return DatumGetInt16(d);
        case INT4OID: return DatumGetInt32(d);
        default: return DatumGetInt64(d);
    }
}

Datum version_datum(int64 v, Oid type) {
    switch (type) {
        case INT2OID:
            if (v > PG_INT16_MAX) throw SqlError(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "version column overflows smallint");
            return Int16GetDatum(static_cast<int16>(v));
        case INT4OID:
            if (v > PG_INT32_MAX) throw SqlError(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "version column overflows integer");
            return Int32GetDatum(static_cast<int32>(v));
        default: return Int64GetDatum(v);
    }
}

// A datum of column `att` from its text form (the column type's input function).
Datum typed_from_text(TupleDesc desc, int att, const char* text) {
    Form_pg_attribute a = TupleDescAttr(desc, att - 1);
    Oid typid = a->atttypid;
    int32 typmod = a->atttypmod;
    return pg_call([typid, typmod, text] {
        Oid input, ioparam;
        getTypeInputInfo(typid, &input, &ioparam);
        return OidInputFunctionCall(input, const_cast<char*>(text), ioparam, typmod);
    });
}

// The text form of column `att` of `t` ("" when NULL, *isnull set).
std::string column_text(HeapTuple t, TupleDesc desc, int att, bool* isnull) {
    const char* s = pg_call([t, desc, att, isnull]() -> const char* {
        char* v = SPI_getvalue(t, desc, att);
        *isnull = v == nullptr;
        return v;
    });
    return s ? std::string(s) : std::string();
}

// Who and when, for the modified-by/at columns.
void fill_modified(const OccConfig& c, TupleDesc desc, std::vector<int>& cols, std::vector<Datum>& vals) {
    if (c.modified_by_att) {
        const char* actor = pg_call([] { return GetConfigOption("concurrent_edit.actor", true, false); });
        std::string who = (actor && *actor) ? actor : std::string(pg_call([] { return GetUserNameFromId(GetUserId(), false); }));
        cols.push_back(c.modified_by_att);
        vals.push_back(typed_from_text(desc, c.modified_by_att, who.c_str()));
    }
    if (c.modified_at_att) {
        Oid typid = TupleDescAttr(desc, c.modified_at_att - 1)->atttypid;
        cols.push_back(c.modified_at_att);
        vals.push_back(pg_call([typid] {
            TimestampTz now = GetCurrentTransactionStartTimestamp();
            return typid == TIMESTAMPOID ? DirectFunctionCall1(timestamptz_timestamp, TimestampTzGetDatum(now))
                                         : TimestampTzGetDatum(now);
        }));
    }
}

HeapTuple modify(HeapTuple t, TupleDesc desc, const std::vector<int>& cols, const std::vector<Datum>& vals,
                 const std::vector<bool>& nulls) {
    std::vector<bool> n = nulls;
    n.resize(cols.size(), false);
    std::unique_ptr<bool[]> nb(new bool[cols.size()]);
    for (std::size_t i = 0; i < cols.size(); ++i) nb[i] = n[i];
    const int* cp = cols.data();
    const Datum* vp = vals.data();
    const bool* np = nb.get();
    int count = static_cast<int>(cols.size());
    return pg_call([t, desc, count, cp, vp, np] {
        return heap_modify_tuple_by_cols(t, desc, count, const_cast<int*>(cp), const_cast<Datum*>(vp),
                                         const_cast<bool*>(np));
    });
}

std::string qualified_name(Relation rel) {
    Oid ns = RelationGetNamespace(rel);
    const char* rn = RelationGetRelationName(rel);
    return pg_call([ns, rn] { return quote_qualified_identifier(get_namespace_name(ns), rn); });
}

// Per-relation plans taking the table's row type: row images and keys are computed
// by to_jsonb() in SQL, the same way for every path (triggers and enable_occ).
struct RelPlans {
    SPIPlanPtr images = nullptr;  // ($1 old row, $2 new row, $3 pk[]) -> key, old image, new image
    SPIPlanPtr base = nullptr;    // ($1 project, $2 relation, $3 row, $4 pk[], $5 version) -> base image
    SPIPlanPtr keep = nullptr;    // ($1 project, $2 relation, $3 row, $4 pk[], $5 version, $6 retain) -> key
};
std::unordered_map<Oid, RelPlans>* rel_plans = nullptr;

SPIPlanPtr keep_plan(const char* sql, int n, Oid* types) {
    return pg_call([sql, n, types] {
        SPIPlanPtr p = SPI_prepare(sql, n, types);
        if (p == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        SPI_keepplan(p);
        return p;
    });
}

RelPlans& plans_for(Relation rel) {
    if (rel_plans == nullptr) rel_plans = new std::unordered_map<Oid, RelPlans>();
    RelPlans& p = (*rel_plans)[RelationGetRelid(rel)];
    if (p.images == nullptr) {
        Oid rowtype = rel->rd_rel->reltype;
        Oid t3[3] = {rowtype, rowtype, TEXTARRAYOID};
        p.images = keep_plan(
            "SELECT (SELECT jsonb_object_agg(k, to_jsonb($1) -> k) FROM unnest($3) k)::text, "
            "       to_jsonb($1)::text, to_jsonb($2)::text",
            3, t3);
        Oid t5[5] = {UUIDOID, TEXTOID, rowtype, TEXTARRAYOID, INT8OID};
        p.base = keep_plan(
            "SELECT v.row_data::text FROM concurrent_edit.occ_row_versions v "
            "WHERE v.project_id = $1 AND v.relation = $2 "
            "  AND v.row_key = (SELECT jsonb_object_agg(k, to_jsonb($3) -> k) FROM unnest($4) k) AND v.version = $5",
            5, t5);
        Oid t6[6] = {UUIDOID, TEXTOID, rowtype, TEXTARRAYOID, INT8OID, INT4OID};
        p.keep = keep_plan(
            "WITH k AS (SELECT (SELECT jsonb_object_agg(k, to_jsonb($3) -> k) FROM unnest($4) k) AS key), "
            "ins AS (INSERT INTO concurrent_edit.occ_row_versions AS v (project_id, relation, row_key, version, row_data) "
            "        SELECT $1, $2, k.key, $5, to_jsonb($3) FROM k "
            "        ON CONFLICT (project_id, relation, row_key, version) DO UPDATE SET row_data = EXCLUDED.row_data, "
            "            created_at = now() RETURNING 1), "
            "del AS (DELETE FROM concurrent_edit.occ_row_versions v USING k "
            "        WHERE v.project_id = $1 AND v.relation = $2 AND v.row_key = k.key AND v.version <= $5 - $6) "
            "SELECT k.key::text FROM k",
            6, t6);
    }
    return p;
}

Datum text_array(const std::vector<std::string>& items) {
    std::vector<Datum> elems;
    for (const auto& s : items) elems.push_back(text_datum(s));
    Datum* e = elems.data();
    int n = static_cast<int>(elems.size());
    return pg_call([e, n] { return PointerGetDatum(construct_array(e, n, TEXTOID, -1, false, TYPALIGN_INT)); });
}

Datum row_datum(HeapTuple t, TupleDesc desc) {
    return pg_call([t, desc] { return heap_copy_tuple_as_datum(t, desc); });
}

pg_uuid_t project_of(const OccConfig& c, HeapTuple t, TupleDesc desc) {
    pg_uuid_t u{};
    if (!c.project_att) return u;
    bool isnull;
    std::string s = column_text(t, desc, c.project_att, &isnull);
    if (isnull) return u;
    Datum d = pg_call([&s] { return DirectFunctionCall1(uuid_in, CStringGetDatum(s.c_str())); });
    std::memcpy(&u, DatumGetUUIDP(d), sizeof(u));
    return u;
}

std::string json_text_or_null(HeapTuple t, TupleDesc desc, int att) {
    if (!att) return "null";
    bool isnull;
    std::string s = column_text(t, desc, att, &isnull);
    if (isnull) return "null";
    std::string out;
    append_json_string(out, s);
    return out;
}

bool is_text_type(Oid t) { return t == TEXTOID || t == VARCHAROID || t == BPCHAROID; }

void append_path(std::string& out, const std::string& column, const ce::json::Path& rest) {
    ce::json::Path p;
    ce::json::PathStep first;
    first.kind = ce::json::PathStep::Kind::key;
    first.key = column;
    p.push_back(first);
    p.insert(p.end(), rest.begin(), rest.end());
    out += ce::json::to_string(ce::json::path_to_value(p));
}

}  // namespace
}  // namespace ce::pg

using namespace ce::pg;

CE_FUNCTION(ce_occ_trigger) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED), errmsg("_occ_trigger must be called as a trigger")));
    TriggerData* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_UPDATE(td->tg_event))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("_occ_trigger must be a BEFORE UPDATE ... FOR EACH ROW trigger")));
    if (td->tg_trigger->tgnargs != 10)
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED), errmsg("_occ_trigger needs 10 arguments; use enable_occ()")));
    TriggerCall call{td->tg_relation, RelationGetDescr(td->tg_relation), td->tg_trigtuple, td->tg_newtuple,
                     td->tg_trigger->tgargs, td->tg_trigger->tgnargs, td->tg_updatedcols};
    OccConfig c;
    c.version_att = attnum_or_zero(call.desc, call.args[0]);
    if (c.version_att == 0)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN), errmsg("version column \"%s\" no longer exists; run enable_occ() again", call.args[0])));
    c.version_type = TupleDescAttr(call.desc, c.version_att - 1)->atttypid;
    c.merge = std::strcmp(call.args[1], "merge") == 0;
    c.strict = arg_true(call.args[2]);
    c.modified_by_att = attnum_or_zero(call.desc, call.args[4]);
    c.modified_at_att = attnum_or_zero(call.desc, call.args[5]);
    c.notify = arg_true(call.args[6]);
    c.project_att = attnum_or_zero(call.desc, call.args[7]);
    c.merge_columns = call.args[3];
    c.array_mode = call.args[8];
    c.pk = call.args[9];

    return guard([&]() -> Datum {
        bool old_null, new_null;
        int64 current = version_value(call.old_tuple, c, call.desc, &old_null);
        int64 proposed = version_value(call.new_tuple, c, call.desc, &new_null);
        bool mentioned = bms_is_member(c.version_att - FirstLowInvalidHeapAttributeNumber, call.updated_cols);
        // Filled only off the fast path (a current update needs none of them).
        std::vector<std::string> pk;
        std::string table;
        auto describe = [&] {
            pk = split_csv(c.pk);
            table = qualified_name(call.rel);
        };

        auto key_and_images = [&](std::string* key, std::string* ours, std::string* theirs) {
            RelPlans& p = plans_for(call.rel);
            Datum args[3] = {row_datum(call.old_tuple, call.desc), row_datum(call.new_tuple, call.desc),
                             text_array(pk)};
            SPIPlanPtr plan = p.images;
            Datum* a = args;
            pg_call([plan, a] {
                if (SPI_execute_plan(plan, a, nullptr, true, 1) != SPI_OK_SELECT) elog(ERROR, "row image query failed");
            });
            Rows r(SPI_tuptable, SPI_processed);
            *key = r.text(0, 0);
            if (ours) *ours = r.text(0, 1);
            if (theirs) *theirs = r.text(0, 2);
        };
        auto stale_detail = [&](const std::string& key, const std::string& extra) {
            std::string d = "{\"table\": ";
            append_json_string(d, table);
            d += ", \"key\": " + key;
            d += ", \"expected_version\": " + std::to_string(proposed);
            d += ", \"current_version\": " + (old_null ? std::string("null") : std::to_string(current));
            d += ", \"last_modified_by\": " + json_text_or_null(call.old_tuple, call.desc, c.modified_by_att);
            d += ", \"last_modified_at\": " + json_text_or_null(call.old_tuple, call.desc, c.modified_at_att);
            d += extra + "}";
            return d;
        };

        if (!mentioned) {
            if (c.strict) {
                describe();
                Spi spi;
                std::string key;
                with_owner_context([&] { key_and_images(&key, nullptr, nullptr); });
                throw SqlError(CE_ERRCODE_BLIND_UPDATE, "UPDATE of " + table + " does not set the version column",
                               "{\"table\": \"" + table + "\", \"key\": " + key + ", \"version_column\": \"" +
                                   std::string(call.args[0]) + "\", \"current_version\": " + std::to_string(current) + "}",
                               "Set " + std::string(call.args[0]) + " to the version the row had when you read it.");
            }
            proposed = current;  // a blind write is treated as current
        }

        std::vector<int> cols;
        std::vector<Datum> vals;
        std::vector<bool> nulls;
        HeapTuple base_tuple = call.new_tuple;
        if (old_null || new_null || proposed != current) {
            // Stale (or a version column that was NULL: nothing to compare with).
            describe();
            Spi spi;
            std::string key, ours_text, theirs_text;
            with_owner_context([&] { key_and_images(&key, &ours_text, &theirs_text); });
            if (!c.merge || old_null || new_null)
                throw SqlError(CE_ERRCODE_STALE_VERSION,
                               "row of " + table + " was modified by another writer",
                               stale_detail(key, ""), "Re-read the row and apply your change to the current version.");
            // Merge against the image of the version the client read.
            std::string base_text;
            pg_uuid_t project = project_of(c, call.old_tuple, call.desc);
            with_owner_context([&] {
                RelPlans& p = plans_for(call.rel);
                Datum args[5] = {uuid_datum(project), text_datum(table), row_datum(call.old_tuple, call.desc),
                                 text_array(pk), Int64GetDatum(proposed)};
                SPIPlanPtr plan = p.base;
                Datum* a = args;
                pg_call([plan, a] {
                    if (SPI_execute_plan(plan, a, nullptr, true, 1) != SPI_OK_SELECT) elog(ERROR, "row history query failed");
                });
                Rows r(SPI_tuptable, SPI_processed);
                if (!r.empty()) base_text = r.text(0, 0);
            });
            if (base_text.empty())
                throw SqlError(CE_ERRCODE_STALE_VERSION,
                               "row of " + table + " was modified, and version " + std::to_string(proposed) +
                                   " it was read at is no longer kept for merging",
                               stale_detail(key, ""),
                               "Re-read the row and apply your change to the current version "
                               "(concurrent_edit.occ_history_versions sets how many versions are kept).");
            std::vector<int> merge_atts;  // empty: every other column
            for (const auto& name : split_csv(c.merge_columns)) {
                int a = pg_call([&] { return SPI_fnumber(call.desc, name.c_str()); });
                if (a > 0) merge_atts.push_back(a);
            }
            ce::json::Value base = ce::json::parse(base_text);
            ce::json::Value ours = ce::json::parse(ours_text);
            ce::json::Value theirs = ce::json::parse(theirs_text);
            const ce::json::ArrayMode mode = ce::json::parse_array_mode(std::string(c.array_mode));
            std::string conflicts = "[";
            int nconflicts = 0;
            static const ce::json::Value null_value;
            for (int att = 1; att <= call.desc->natts; ++att) {
                Form_pg_attribute a = TupleDescAttr(call.desc, att - 1);
                if (a->attisdropped || att == c.version_att || att == c.modified_by_att || att == c.modified_at_att)
                    continue;
                std::string name = NameStr(a->attname);
                bool is_pk = false;
                for (const auto& k : pk) is_pk |= k == name;
                if (is_pk) continue;
                const ce::json::Value* b = base.find(name);
                const ce::json::Value* o = ours.find(name);
                const ce::json::Value* t = theirs.find(name);
                const ce::json::Value& bv = b ? *b : null_value;
                const ce::json::Value& ov = o ? *o : null_value;
                const ce::json::Value& tv = t ? *t : null_value;
                if (tv == bv) {
                    // The client did not change it: keep what is in the row now.
                    bool isnull;
                    Datum d = pg_call([&] { return heap_getattr(call.old_tuple, att, call.desc, &isnull); });
                    cols.push_back(att);
                    vals.push_back(d);
                    nulls.resize(cols.size(), false);
                    nulls.back() = isnull;
                    continue;
                }
                if (ov == bv || ov == tv) continue;  // only the client changed it: NEW has it
                bool mergeable = merge_atts.empty();
                for (int m : merge_atts) mergeable |= m == att;
                auto conflict = [&](const ce::json::Path& rest, const char* kind) {
                    if (nconflicts++) conflicts += ", ";
                    conflicts += "{\"path\": ";
                    append_path(conflicts, name, rest);
                    conflicts += ", \"kind\": \"";
                    conflicts += kind;
                    conflicts += "\"}";
                };
                if (mergeable && a->atttypid == JSONBOID && !bv.is_null() && !ov.is_null() && !tv.is_null()) {
                    ce::json::MergeResult m = ce::json::merge3(&bv, ov, tv, mode);
                    if (!m.clean) {
                        for (const auto& cf : m.conflicts) conflict(cf.path, ce::json::conflict_kind_name(cf.kind));
                        continue;
                    }
                    cols.push_back(att);
                    vals.push_back(jsonb_datum(m.content));
                    nulls.resize(cols.size(), false);
                } else if (mergeable && is_text_type(a->atttypid) && bv.is_string() && ov.is_string() && tv.is_string()) {
                    ce::MergeOptions opts;
                    opts.algorithm = diff_algorithm();
                    ce::MergeResult m = ce::merge3(bv.text(), ov.text(), tv.text(), opts);
                    if (!m.clean) {
                        conflict({}, "modify/modify");
                        continue;
                    }
                    cols.push_back(att);
                    vals.push_back(typed_from_text(call.desc, att, m.content.c_str()));
                    nulls.resize(cols.size(), false);
                } else {
                    conflict({}, "modify/modify");
                }
            }
            conflicts += "]";
            if (nconflicts > 0) {
                std::string details = "{\"conflicts\": " + conflicts + ", \"theirs\": " + theirs_text +
                                      ", \"table\": ";
                append_json_string(details, table);
                details += "}";
                record_row_conflict(project, table, key, proposed, current, details);
                throw SqlError(CE_ERRCODE_STALE_VERSION,
                               "row of " + table + " was modified by another writer and the changes conflict",
                               stale_detail(key, ", \"conflicts\": " + conflicts),
                               "Re-read the row and apply your change to the current version.");
            }
            spi.finish();
        }
        cols.push_back(c.version_att);
        vals.push_back(version_datum(current + 1, c.version_type));
        nulls.resize(cols.size(), false);
        fill_modified(c, call.desc, cols, vals);
        nulls.resize(cols.size(), false);
        return PointerGetDatum(modify(base_tuple, call.desc, cols, vals, nulls));
    });
}

CE_FUNCTION(ce_occ_after) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED), errmsg("_occ_after must be called as a trigger")));
    TriggerData* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) || td->tg_trigger->tgnargs != 5)
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("_occ_after must be an AFTER ... FOR EACH ROW trigger created by enable_occ()")));
    Relation rel = td->tg_relation;
    TupleDesc desc = RelationGetDescr(rel);
    HeapTuple row = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
    char** args = td->tg_trigger->tgargs;
    OccConfig c;
    c.version_att = attnum_or_zero(desc, args[0]);
    if (c.version_att == 0)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN), errmsg("version column \"%s\" no longer exists; run enable_occ() again", args[0])));
    c.version_type = TupleDescAttr(desc, c.version_att - 1)->atttypid;
    c.merge = std::strcmp(args[1], "merge") == 0;
    c.notify = arg_true(args[2]);
    c.project_att = attnum_or_zero(desc, args[3]);
    c.pk = args[4];
    int retain = guc_occ_history_versions;
    return guard([&]() -> Datum {
        const std::vector<std::string> pk = split_csv(c.pk);
        bool isnull;
        int64 version = version_value(row, c, desc, &isnull);
        if (isnull) return PointerGetDatum(row);
        std::string table = qualified_name(rel);
        pg_uuid_t project = project_of(c, row, desc);
        Spi spi;
        std::string key;
        with_owner_context([&] {
            RelPlans& p = plans_for(rel);
            if (c.merge) {
                Datum a[6] = {uuid_datum(project), text_datum(table), row_datum(row, desc), text_array(pk),
                              Int64GetDatum(version), Int32GetDatum(retain)};
                SPIPlanPtr plan = p.keep;
                Datum* ap = a;
                pg_call([plan, ap] {
                    if (SPI_execute_plan(plan, ap, nullptr, false, 0) < 0) elog(ERROR, "row history insert failed");
                });
            } else {
                Datum a[3] = {row_datum(row, desc), row_datum(row, desc), text_array(pk)};
                SPIPlanPtr plan = p.images;
                Datum* ap = a;
                pg_call([plan, ap] {
                    if (SPI_execute_plan(plan, ap, nullptr, true, 1) != SPI_OK_SELECT) elog(ERROR, "row key query failed");
                });
            }
            key = Rows(SPI_tuptable, SPI_processed).text(0, 0);
        });
        if (c.notify && TRIGGER_FIRED_BY_UPDATE(td->tg_event)) {
            std::string payload = "{\"table\": ";
            append_json_string(payload, table);
            payload += ", \"key\": " + key + ", \"version\": " + std::to_string(version) + "}";
            if (payload.size() >= 7900) {  // NOTIFY payloads stop at 8000 bytes: drop the key, keep the ids
                payload = "{\"table\": ";
                append_json_string(payload, table);
                payload += ", \"version\": " + std::to_string(version) + ", \"key_truncated\": true}";
            }
            std::string channel = "concurrent_edit_occ_" + std::to_string(RelationGetRelid(rel));
            const char* ch = channel.c_str();
            const char* pl = payload.c_str();
            pg_call([ch, pl] { Async_Notify(ch, pl); });
        }
        spi.finish();
        return PointerGetDatum(row);
    });
}
