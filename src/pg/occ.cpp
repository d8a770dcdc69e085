// Optimistic concurrency triggers for any table (enable_occ; src/sql/70_occ.sql,
// docs/reference/occ.md). The life of an OCC update is traced in
// docs/architecture.md.
//
//   BEFORE UPDATE (ce_occ_trigger): the UPDATE sets the version column to the version
//   it read. Current: version = read + 1, modified-by/at filled (no SPI at all).
//   Stale: mode reject raises VC001 with a JSON DETAIL; mode merge merges the stale
//   row column by column against the image of the version the client read (jsonb
//   key by key, text line by line), raising VC001 with the conflicting paths only on
//   a real conflict (the conflict is recorded in conflict_history by the recorder,
//   since the error rolls back the transaction). An UPDATE that does not set the
//   version column is a blind write: refused in strict mode, else treated as current.
//
//   AFTER INSERT OR UPDATE (ce_occ_after): in merge mode keeps the row image of the
//   new version (the newest concurrent_edit.occ_history_versions per row); with
//   notify sends {"table", "key", "version"} on occ_channel(table). In merge mode
//   also AFTER DELETE: a deleted row's images are dropped.
//
// Row images are computed as the caller and only stored or looked up in the
// owner's context (occ_images.hpp).
#include <algorithm>
#include <optional>
#include <cstring>
#include <string>
#include <vector>

#include "concurrent_edit/json.hpp"
#include "concurrent_edit/json_merge.hpp"
#include "concurrent_edit/merge.hpp"
#include "pg/access.hpp"
#include "pg/feed.hpp"
#include "pg/guc.hpp"
#include "pg/json_jsonb.hpp"
#include "pg/occ_config.hpp"
#include "pg/occ_images.hpp"
#include "pg/occ_merge.hpp"
#include "pg/owner.hpp"
#include "pg/recorder.hpp"

namespace ce::pg {
namespace {

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
            if (v > PG_INT16_MAX) throw SqlError(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "version column overflows smallint",
                                              ce::Detail().add("version", v).add("max", PG_INT16_MAX));
            return Int16GetDatum(static_cast<int16>(v));
        case INT4OID:
            if (v > PG_INT32_MAX) throw SqlError(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "version column overflows integer",
                                              ce::Detail().add("version", v).add("max", PG_INT32_MAX));
            return Int32GetDatum(static_cast<int32>(v));
        default: return Int64GetDatum(v);
    }
}

// A datum of column `att` from its text form (the column type's input function).
Datum typed_from_text(TupleDesc desc, int att, const std::string& text) {
    Form_pg_attribute a = TupleDescAttr(desc, att - 1);
    Oid typid = a->atttypid;
    int32 typmod = a->atttypmod;
    const char* s = text.c_str();
    return pg_call([typid, typmod, s] {
        Oid input, ioparam;
        getTypeInputInfo(typid, &input, &ioparam);
        return OidInputFunctionCall(input, const_cast<char*>(s), ioparam, typmod);
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
        // A varchar(n) or char(n) column shorter than the name: 22001 with a JSON
        // DETAIL, not the input function's bare error.
        Form_pg_attribute a = TupleDescAttr(desc, c.modified_by_att - 1);
        if ((a->atttypid == VARCHAROID || a->atttypid == BPCHAROID) && a->atttypmod >= VARHDRSZ) {
            const char* w = who.c_str();
            int len = static_cast<int>(who.size());
            if (a->atttypid == BPCHAROID)  // char(n) takes trailing spaces beyond n
                while (len > 0 && w[len - 1] == ' ') --len;
            int chars = pg_call([w, len] { return pg_mbstrlen_with_len(w, len); });
            int max = a->atttypmod - VARHDRSZ;
            if (chars > max)
                throw SqlError(ERRCODE_STRING_DATA_RIGHT_TRUNCATION,
                               "the writer's name is longer than the modified-by column \"" +
                                   std::string(NameStr(a->attname)).substr(0, 64) + "\" holds",
                               ce::Detail().add("column", std::string(NameStr(a->attname))).add("max_length", max)
                                   .add("length", chars),
                               "Widen the column, or set concurrent_edit.actor to a shorter name.");
        }
        cols.push_back(c.modified_by_att);
        vals.push_back(typed_from_text(desc, c.modified_by_att, who));
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
                 const std::vector<char>& nulls) {
    std::vector<char> n = nulls;
    n.resize(cols.size(), 0);
    const int* cp = cols.data();
    const Datum* vp = vals.data();
    const bool* np = reinterpret_cast<const bool*>(n.data());
    int count = static_cast<int>(cols.size());
    return pg_call([t, desc, count, cp, vp, np] {
        return heap_modify_tuple_by_cols(t, desc, count, const_cast<int*>(cp), const_cast<Datum*>(vp),
                                         const_cast<bool*>(np));
    });
}

// The project column's value (nil when there is none or it is NULL; text that is
// no uuid: 22P02, project_from_text).
pg_uuid_t project_of(const OccConfig& c, HeapTuple t, Relation rel) {
    pg_uuid_t u{};
    if (!c.project_att) return u;
    TupleDesc desc = RelationGetDescr(rel);
    bool isnull;
    std::string s = column_text(t, desc, c.project_att, &isnull);
    if (isnull) return u;
    return project_from_text(s, RelationGetRelid(rel), NameStr(TupleDescAttr(desc, c.project_att - 1)->attname));
}

std::string json_text_or_null(HeapTuple t, TupleDesc desc, int att) {
    if (!att) return "null";
    bool isnull;
    std::string s = column_text(t, desc, att, &isnull);
    return isnull ? "null" : json_string(s);
}

bool is_text_type(Oid t) { return t == TEXTOID || t == VARCHAROID || t == BPCHAROID; }

// Characters of a UTF-8 text (the merge core's output).
std::size_t utf8_length(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

void append_path(std::string& out, const std::string& column, const ce::json::Path& rest) {
    ce::json::Path p;
    ce::json::PathStep first;
    first.kind = ce::json::PathStep::Kind::key;
    first.key = column;
    p.push_back(first);
    p.insert(p.end(), rest.begin(), rest.end());
    out += ce::json::to_string(ce::json::path_to_value(p));
}

// The project a row conflict is recorded under: the row's project column, when the
// table's owner may write that project; otherwise none (the nil uuid), so a table
// cannot put conflicts into the feed of a project its owner cannot write.
pg_uuid_t conflict_project(Spi& spi, Relation rel, const pg_uuid_t& project) {
    if (uuid_is_null(project)) return project;
    Oid owner = rel->rd_rel->relowner;
    OwnerContext ctx;
    Right r = right_on(spi, owner, project);
    ctx.leave();
    return r >= Right::write ? project : pg_uuid_t{};
}

}  // namespace
}  // namespace ce::pg

using namespace ce::pg;

CE_FUNCTION(ce_occ_trigger) {
    check_trigger_call(fcinfo, true);
    auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    Relation rel = td->tg_relation;
    TupleDesc desc = RelationGetDescr(rel);
    HeapTuple old_tuple = td->tg_trigtuple, new_tuple = td->tg_newtuple;
    OccConfig c = decode_config(td, true);

    bool old_null, new_null;
    int64 current = version_value(old_tuple, c, desc, &old_null);
    int64 proposed = version_value(new_tuple, c, desc, &new_null);
    bool mentioned = bms_is_member(c.version_att - FirstLowInvalidHeapAttributeNumber, td->tg_updatedcols);
    // A MERGE's tg_updatedcols is the union of its UPDATE actions' columns: in strict
    // mode each must set the version column, or the row is a blind write.
    const bool merge_blind = mentioned && c.strict && merge_may_leave_unset(RelationGetRelid(rel), c.version_column);
    mentioned &= !merge_blind;
    bool stale = old_null || new_null || (mentioned && proposed != current);

    // Columns the merge sets, as plain values: their datums are built only after
    // SPI has finished (memory allocated while SPI is connected dies with it).
    struct Change {
        int att;
        enum Kind { keep_current, merged_text, merged_json } kind;
        std::string text;
        ce::json::Value json;
    };
    std::vector<Change> changes;
    if ((!mentioned && c.strict) || stale) {
        // Off the fast path: the row's key and images, computed as the caller.
        std::string table = relation_name(RelationGetRelid(rel));
        // A merge's images count against concurrent_edit.max_merge_memory from
        // before they are made (what they take in PostgreSQL's memory is not
        // otherwise seen): a row too large to merge within it is refused with
        // 54000 before any image is made.
        const bool merging = stale && c.merge && !old_null && !new_null;
        std::optional<ce::memory::Budget> image_budget;
        ce::memory::Charge image_work;
        if (merging) {
            retain_free_memory();
            image_budget.emplace(max_merge_memory_bytes(), "concurrent_edit.max_merge_memory");
            image_work.resize(kMergeImageFactor * (row_raw_bytes(desc, old_tuple) + row_raw_bytes(desc, new_tuple)));
        }
        Spi spi;
        RowImages im = row_images(spi, rel, old_tuple, new_tuple, merging);
        // The row's values in the errors only as PostgreSQL shows them in its own
        // (values_visible): the updater may have UPDATE without SELECT, or the
        // table's row-level security may hide the row from it. What is left out
        // is named in "withheld".
        Oid origin = image_relation(td->tg_trigger, rel);
        const bool show_key = values_visible(rel, origin, c.key_atts);
        const bool show_version = values_visible(rel, origin, {c.version_att});
        std::string withheld;
        auto shown = [&](const char* member, bool visible, const std::string& value) {
            if (visible) return ", \"" + std::string(member) + "\": " + value;
            withheld += (withheld.empty() ? "\"" : ", \"") + std::string(member) + "\"";
            return std::string();
        };
        const std::string key_member = shown("key", show_key, im.key);
        const std::string current_member =
            shown("current_version", show_version, old_null ? std::string("null") : std::to_string(current));
        const std::string withheld_of_blind = withheld;  // VC009 shows no modified-by/at
        auto withheld_list = [](const std::string& w) { return w.empty() ? w : ", \"withheld\": [" + w + "]"; };
        auto modified = [&](const char* member, int att) {
            if (!att) return ", \"" + std::string(member) + "\": null";
            if (!values_visible(rel, origin, {att})) return shown(member, false, {});
            return shown(member, true, json_text_or_null(old_tuple, desc, att));
        };
        const std::string modified_by = modified("last_modified_by", c.modified_by_att);
        const std::string modified_at = modified("last_modified_at", c.modified_at_att);
        const std::string withheld_member = withheld_list(withheld);
        auto stale_detail = [&](const std::string& extra) {
            return "{\"table\": " + json_string(table) + key_member +
                   ", \"expected_version\": " + (new_null ? std::string("null") : std::to_string(proposed)) +
                   current_member + modified_by + modified_at + extra + withheld_member + "}";
        };
        if (!mentioned && c.strict)
            throw SqlError(CE_ERRCODE_BLIND_UPDATE, (merge_blind ? "MERGE into " : "UPDATE of ") + table +
                           " does not set the version column" + (merge_blind ? " in every UPDATE action" : ""),
                           "{\"table\": " + json_string(table) + key_member + ", \"version_column\": " +
                               json_string(c.version_column) + current_member + (merge_blind ? ", \"statement\": \"MERGE\"" : "") +
                               withheld_list(withheld_of_blind) + "}",
                           "Set " + c.version_column + " to the version the row had when you read it" +
                               (merge_blind ? ", in every WHEN MATCHED THEN UPDATE." : "."));
        if (!c.merge || old_null || new_null)
            throw SqlError(CE_ERRCODE_STALE_VERSION, "row of " + table + " was modified by another writer",
                           stale_detail(""), "Re-read the row and apply your change to the current version.");
        // A merge compares what the UPDATE sets with the row's values now and at
        // the version it names: whether it merges, keeps the current value or
        // conflicts would tell a role that may UPDATE a column but not SELECT it
        // whether the value it wrote is the column's value (a guess, tried without
        // changing the row). A stale UPDATE that sets such a column is refused as
        // in mode reject, whatever the values (and whichever side of the current
        // version it names: the refusal tells nothing of that either).
        std::string unreadable;
        for (int att = 1; att <= desc->natts; ++att) {
            if (TupleDescAttr(desc, att - 1)->attisdropped || att == c.version_att || att == c.modified_by_att ||
                att == c.modified_at_att ||
                std::find(c.key_atts.begin(), c.key_atts.end(), att) != c.key_atts.end() ||
                !bms_is_member(att - FirstLowInvalidHeapAttributeNumber, td->tg_updatedcols) ||
                values_visible(rel, origin, {att}, false))
                continue;
            unreadable += (unreadable.empty() ? "" : ", ") + json_string(NameStr(TupleDescAttr(desc, att - 1)->attname));
        }
        if (!unreadable.empty())
            throw SqlError(CE_ERRCODE_STALE_VERSION,
                           "row of " + table + " was modified by another writer; an UPDATE setting a column the role "
                           "may not read is not merged",
                           stale_detail(", \"not_merged\": [" + unreadable + "]"),
                           "Re-read the row and apply your change to the current version.");
        if (proposed > current)  // never a version of this row: nothing to merge from
            throw SqlError(CE_ERRCODE_STALE_VERSION,
                           "row of " + table + " is at " +
                               (show_version ? "version " + std::to_string(current) + ", not " : "a version below ") +
                               std::to_string(proposed),
                           stale_detail(""), "Re-read the row and apply your change to the current version.");
        // Merge against the image of the version the client read.
        std::string image_table = relation_name(origin);
        pg_uuid_t project = project_of(c, old_tuple, rel);
        std::optional<std::string> base_text;
        {
            OwnerContext owner;
            base_text = base_image(spi, project, image_table, im.key, proposed);
            owner.leave();
        }
        if (!base_text)
            throw SqlError(CE_ERRCODE_STALE_VERSION,
                           "row of " + table + " was modified, and version " + std::to_string(proposed) +
                               " it was read at is no longer kept for merging",
                           stale_detail(""),
                           "Re-read the row and apply your change to the current version "
                           "(concurrent_edit.occ_history_versions sets how many versions are kept).");
        // A SQL_ASCII database stores any bytes, and the merge reads UTF-8 only: a
        // row holding others cannot be merged (refused as stale, with its DETAIL,
        // rather than the conversion's bare 22021).
        if (GetDatabaseEncoding() == PG_SQL_ASCII)
            for (const std::string* image : {&*base_text, &im.a_row, &im.b_row})
                if (!ce::json::valid_utf8(*image))
                    throw SqlError(CE_ERRCODE_STALE_VERSION,
                                   "row of " + table + " was modified by another writer; a row holding text that is "
                                   "not UTF-8 is not merged",
                                   stale_detail(", \"not_merged_reason\": \"not UTF-8\""),
                                   "Re-read the row and apply your change to the current version.");
        // The three row images share the nodes of their identical parts.
        ce::memory::Budget budget = merge_budget();
        // The images are in the database's encoding; the core reads UTF-8, and what
        // it gives back (merged texts and documents, conflict paths) is converted
        // back (no conversion in a UTF-8 database).
        // A row image is one level deeper than its columns: a column as deep as
        // jsonb_merge3 accepts must not make the image too deep.
        ce::json::ParseOptions row_depth;
        row_depth.max_depth = ce::json::kMaxDepth + 1;
        ce::json::Value base = ce::json::parse(server_to_utf8(*base_text), row_depth);
        ce::json::ParseOptions shared = row_depth;
        const ce::json::Interner interner(base);
        shared.interner = &interner;
        ce::json::Value ours = ce::json::parse(server_to_utf8(im.a_row), shared);
        ce::json::Value theirs = ce::json::parse(server_to_utf8(im.b_row), shared);
        const ce::json::ArrayMode mode = ce::json::parse_array_mode(c.array_mode);
        // The conflicts as recorded, and as the updater is shown them: a path
        // inside a column's value (a jsonb key, an array item's id) only when it
        // may see that column's values, otherwise the column once.
        std::string conflicts = "[", shown_conflicts = "[";
        int nconflicts = 0;
        static const ce::json::Value null_value;
        for (int att = 1; att <= desc->natts; ++att) {
            Form_pg_attribute a = TupleDescAttr(desc, att - 1);
            if (a->attisdropped || att == c.version_att || att == c.modified_by_att || att == c.modified_at_att) continue;
            if (std::find(c.key_atts.begin(), c.key_atts.end(), att) != c.key_atts.end()) continue;
            std::string name = NameStr(a->attname);
            const std::string key = server_to_utf8(name);
            const ce::json::Value* b = base.find(key);
            const ce::json::Value* o = ours.find(key);
            const ce::json::Value* t = theirs.find(key);
            const ce::json::Value& bv = b ? *b : null_value;
            const ce::json::Value& ov = o ? *o : null_value;
            const ce::json::Value& tv = t ? *t : null_value;
            // A json or jsonb column that is SQL NULL is absent from the image
            // (row_image_sql), and differs from JSON null; any other column's
            // image is null for NULL (absent in an image kept before the column
            // was added).
            const bool absent_is_null = !is_json_column(a);
            auto same = [absent_is_null](const ce::json::Value* x, const ce::json::Value* y) {
                if (!absent_is_null && (x == nullptr || y == nullptr)) return x == y;
                return (x ? *x : null_value) == (y ? *y : null_value);
            };
            if (same(t, b)) {
                // The client did not change it: keep what is in the row now.
                changes.push_back(Change{att, Change::keep_current, {}, {}});
                continue;
            }
            if (same(o, b) || same(o, t)) continue;  // only the client changed it: NEW has it
            bool mergeable = c.merge_every_column;
            for (int m : c.merge_atts) mergeable |= m == att;
            int column_shown = -1;  // not yet known; 1 visible; 0 hidden; 2 hidden and shown once
            auto conflict = [&](const ce::json::Path& rest, const char* kind) {
                auto add = [&key](std::string& out, const ce::json::Path& path, const char* k) {
                    if (out.size() > 1) out += ", ";
                    out += "{\"path\": ";
                    append_path(out, key, path);
                    out += ", \"kind\": \"";
                    out += k;
                    out += "\"}";
                };
                ++nconflicts;
                add(conflicts, rest, kind);
                if (column_shown < 0) column_shown = values_visible(rel, origin, {att}) ? 1 : 0;
                if (column_shown == 1) {
                    add(shown_conflicts, rest, kind);
                } else if (column_shown == 0) {
                    add(shown_conflicts, {}, "modify/modify");  // both changed the column
                    column_shown = 2;
                }
            };
            if (mergeable && a->atttypid == JSONBOID && b && o && t && !bv.is_null() && !ov.is_null() &&
                !tv.is_null()) {
                ce::json::MergeResult m = ce::json::merge3(&bv, ov, tv, mode);
                if (!m.clean) {
                    for (const auto& cf : m.conflicts) conflict(cf.path, ce::json::conflict_kind_name(cf.kind));
                    continue;
                }
                changes.push_back(Change{att, Change::merged_json, {}, m.content});
            } else if (mergeable && is_text_type(a->atttypid) && bv.is_string() && ov.is_string() && tv.is_string()) {
                ce::MergeOptions opts;
                opts.algorithm = diff_algorithm();
                ce::MergeResult m = ce::merge3(bv.text(), ov.text(), tv.text(), opts);
                if (!m.clean) {
                    conflict({}, "modify/modify");
                    continue;
                }
                // Both changes fit a varchar(n)/char(n), their merge may not: a
                // conflict, not the column's bare 22001.
                if (a->atttypid != TEXTOID && a->atttypmod > VARHDRSZ &&
                    utf8_length(m.content) > static_cast<std::size_t>(a->atttypmod - VARHDRSZ)) {
                    conflict({}, "merged/too-long");
                    continue;
                }
                changes.push_back(Change{att, Change::merged_text, utf8_to_server(m.content), {}});
            } else {
                conflict({}, "modify/modify");
            }
        }
        conflicts = utf8_to_server(conflicts + "]");
        shown_conflicts = utf8_to_server(shown_conflicts + "]");
        if (nconflicts > 0) {
            // The record's details, and (should they exceed a record) without the row.
            auto details = [&](const std::string& theirs) {
                return "{\"conflicts\": " + conflicts + ", \"theirs\": " + theirs + ", \"table\": " + json_string(table) + "}";
            };
            record_row_conflict(conflict_project(spi, rel, project), RelationGetRelid(rel), table, im.key, proposed,
                                current, details(im.b_row),
                                details("{\"truncated\": true, \"bytes\": " + std::to_string(im.b_row.size()) + "}"));
            throw SqlError(CE_ERRCODE_STALE_VERSION,
                           "row of " + table + " was modified by another writer and the changes conflict",
                           stale_detail(", \"conflicts\": " + shown_conflicts),
                           "Re-read the row and apply your change to the current version.");
        }
        spi.finish();
    }
    if (!mentioned) proposed = current;  // a blind write is treated as current
    // The new row's datums, in the trigger's memory context.
    std::vector<int> cols;
    std::vector<Datum> vals;
    std::vector<char> nulls;
    for (const Change& ch : changes) {
        bool isnull = false;
        Datum d;
        switch (ch.kind) {
            case Change::keep_current: d = heap_getattr(old_tuple, ch.att, desc, &isnull); break;
            case Change::merged_text: d = typed_from_text(desc, ch.att, ch.text); break;
            case Change::merged_json:
                // jsonb keeps strings in the database's encoding: outside UTF-8,
                // through the text form.
                d = GetDatabaseEncoding() == PG_UTF8 ? jsonb_datum(ch.json)
                                                     : typed_from_text(desc, ch.att, utf8_to_server(ce::json::to_string(ch.json)));
                break;
        }
        cols.push_back(ch.att);
        vals.push_back(d);
        nulls.push_back(isnull);
    }
    cols.push_back(c.version_att);
    if (current == PG_INT64_MAX)
        throw SqlError(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "version column overflows bigint",
                       ce::Detail().add("version", current).add("max", PG_INT64_MAX));
    vals.push_back(version_datum(current + 1, c.version_type));
    nulls.resize(cols.size(), 0);
    fill_modified(c, desc, cols, vals);
    nulls.resize(cols.size(), 0);
    return PointerGetDatum(modify(new_tuple, desc, cols, vals, nulls));
}

// Whether an update gave the row another key (a key column's stored bytes
// differ; a value stored differently but equal counts as changed, which only
// drops merge bases).
static bool key_moved(Relation rel, HeapTuple before, HeapTuple after) {
    TupleDesc desc = RelationGetDescr(rel);
    for (int att : primary_key_atts(rel)) {
        bool moved = pg_call([=] {
            bool null_a, null_b;
            Datum a = heap_getattr(before, att, desc, &null_a);
            Datum b = heap_getattr(after, att, desc, &null_b);
            if (null_a || null_b) return null_a != null_b;
            Form_pg_attribute f = TupleDescAttr(desc, att - 1);
            return !datumIsEqual(a, b, f->attbyval, f->attlen);
        });
        if (moved) return true;
    }
    return false;
}

// Whether an update changed the row's project column (as text; a value that is no
// uuid counts as its own project).
static bool project_moved(const OccConfig& c, Relation rel, HeapTuple before, HeapTuple after) {
    if (!c.project_att) return false;
    TupleDesc desc = RelationGetDescr(rel);
    bool null_a, null_b;
    std::string a = column_text(before, desc, c.project_att, &null_a);
    std::string b = column_text(after, desc, c.project_att, &null_b);
    return null_a != null_b || a != b;
}

// Drops every image kept under the key `tuple` has (in the project it names): a
// row deleted, the key a row left, or the project it left (none kept under a
// project column that holds no uuid).
static void drop_images_of(Spi& spi, Relation rel, const OccConfig& c, HeapTuple tuple, const std::string& image_table) {
    pg_uuid_t project{};  // as project_of(), without its error for a value that is no uuid
    if (c.project_att) {
        bool isnull;
        std::string text = column_text(tuple, RelationGetDescr(rel), c.project_att, &isnull);
        if (!isnull && !uuid_from_text(text, &project)) return;
    }
    std::string key = row_images(spi, rel, tuple, nullptr, false).key;
    OwnerContext owner;
    drop_images(spi, project, image_table, key, 0, true);
    owner.leave();
}

CE_FUNCTION(ce_occ_after) {
    check_trigger_call(fcinfo, false);
    auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    Relation rel = td->tg_relation;
    TupleDesc desc = RelationGetDescr(rel);
    HeapTuple row = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
    OccConfig c = decode_config(td, false);
    if (TRIGGER_FIRED_BY_DELETE(td->tg_event)) {
        // A deleted row's images are no merge base for anything: dropped with it
        // (before, they stayed until a row took its key again, and a table whose
        // rows come and go kept the images of every row it ever had).
        if (!c.merge) return PointerGetDatum(row);
        Spi spi;
        drop_images_of(spi, rel, c, row, relation_name(image_relation(td->tg_trigger, rel)));
        spi.finish();
        return PointerGetDatum(row);
    }
    int retain = guc_occ_history_versions;
    bool isnull;
    int64 version = version_value(row, c, desc, &isnull);
    if (isnull) return PointerGetDatum(row);
    bool notify = c.notify && TRIGGER_FIRED_BY_UPDATE(td->tg_event);
    if (!c.merge && !notify) return PointerGetDatum(row);
    // A row whose image would take more than concurrent_edit.max_merge_memory to
    // make keeps none (its version then has no merge base: a stale update from it
    // gets VC001), so that keeping images is bounded as merging them is.
    const bool keep = c.merge && kKeepImageFactor * row_raw_bytes(desc, row) <= max_merge_memory_bytes();
    Spi spi;
    RowImages im = row_images(spi, rel, row, nullptr, keep);
    // Images and notifications are about the table enable_occ() was called on,
    // whatever partition the row is in.
    Oid origin = image_relation(td->tg_trigger, rel);
    if (c.merge) {
        std::string image_table = relation_name(origin);
        pg_uuid_t project = project_of(c, row, rel);
        // An inserted row starts a new history: the images of a deleted row with
        // the same key are no merge base for it. So does a row an update gave
        // another key: the images under that key are another row's (two rows
        // swapping keys), and a stale update from one of their versions would
        // merge against it.
        // (The images under the key it left are no one's now: dropped too.)
        // Images are kept under the row's project: a row moved to another project
        // leaves its images under the old one behind in the same way, where a
        // later row of that key in that project would take them as its own.
        bool moved = TRIGGER_FIRED_BY_UPDATE(td->tg_event) &&
                     (key_moved(rel, td->tg_trigtuple, td->tg_newtuple) ||
                      project_moved(c, rel, td->tg_trigtuple, td->tg_newtuple));
        bool fresh = TRIGGER_FIRED_BY_INSERT(td->tg_event) || moved;
        if (moved) drop_images_of(spi, rel, c, td->tg_trigtuple, image_table);
        OwnerContext owner;
        if (keep)
            keep_image(spi, project, image_table, im.key, version, im.a_row, retain, fresh);
        else
            drop_images(spi, project, image_table, im.key, version, fresh);
        owner.leave();
    }
    if (notify) {
        std::string table = relation_name(origin);
        std::string payload = "{\"table\": " + json_string(table) + ", \"key\": " + im.key +
                              ", \"version\": " + std::to_string(version) + "}";
        if (payload.size() >= 7900)  // NOTIFY payloads stop at 8000 bytes: drop the key, keep the ids
            payload = "{\"table\": " + json_string(table) + ", \"version\": " + std::to_string(version) +
                      ", \"key_truncated\": true}";
        send_notification("concurrent_edit_occ_" + std::to_string(origin), payload);
    }
    spi.finish();
    return PointerGetDatum(row);
}
