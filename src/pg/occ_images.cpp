// Row images of tables under optimistic concurrency (see occ_images.hpp).
#include "pg/occ_images.hpp"

#include <unordered_map>

#include "pg/owner.hpp"
#include "pg/results.hpp"
#include "pg/tables.hpp"

namespace ce::pg {
namespace {

// Whether a column's image is its text form rather than to_jsonb()'s (arrays and
// composites, domains over them included): to_jsonb() drops an array's bounds
// ('[0:1]={10,20}' and '{10,20}' give one image) and makes SQL NULL and JSON
// null inside one alike, where the type's own = tells them apart. Judged alike,
// a stale update's change from one to the other would be taken for no change,
// and lost. The text form keeps both; it tells apart some values the type calls
// equal (1.0 and 1.00 in a numeric[]), which at worst makes a conflict.
bool is_text_image_column(Form_pg_attribute a) {
    Oid t = a->atttypid;
    // Without a catalog lookup for the common types (this runs at every row's
    // update): arrays and composites are of variable length.
    if (a->attlen != -1) return false;
    switch (t) {
        case TEXTOID: case VARCHAROID: case BPCHAROID: case NUMERICOID: case BYTEAOID: case JSONOID: case JSONBOID:
            return false;
        default:
            break;
    }
    return pg_call([t] {
        Oid base = getBaseType(t);
        return type_is_array(base) || get_typtype(base) == TYPTYPE_COMPOSITE;
    });
}

// The json and jsonb columns (domains over them included), and the columns whose
// image is their text, each as its number, type and name: what row_image_sql's
// statement depends on besides the row type. Its plan reads no table, so nothing
// invalidates it when a column's type changes or a column is dropped and added
// again under its name: a changed key rebuilds it.
std::string json_columns_key(TupleDesc desc) {
    std::string key;
    for (int i = 0; i < desc->natts; ++i) {
        Form_pg_attribute a = TupleDescAttr(desc, i);
        if (a->attisdropped || !(is_json_column(a) || is_text_image_column(a))) continue;
        key += std::to_string(a->attnum) + ':' + std::to_string(a->atttypid) + ':' + NameStr(a->attname) + '\n';
    }
    return key;
}

}  // namespace

bool is_json_column(Form_pg_attribute a) {
    Oid t = a->atttypid;
    if (t == JSONOID || t == JSONBOID) return true;
    if (t < FirstNormalObjectId) return false;  // a built-in type, not a domain over json
    Oid base = pg_call([t] { return getBaseType(t); });
    return base == JSONOID || base == JSONBOID;
}

std::size_t row_raw_bytes(TupleDesc desc, HeapTuple tuple) {
    return pg_call([desc, tuple] {
        std::size_t n = 0;
        for (int i = 0; i < desc->natts; ++i) {
            Form_pg_attribute a = TupleDescAttr(desc, i);
            if (a->attisdropped) continue;
            bool isnull;
            Datum d = heap_getattr(tuple, i + 1, desc, &isnull);
            if (isnull) continue;
            if (a->attlen == -1)
                n += toast_raw_datum_size(d);
            else if (a->attlen == -2)
                n += strlen(DatumGetCString(d)) + 1;
            else
                n += static_cast<std::size_t>(a->attlen);
        }
        return n;
    });
}

std::string row_image_sql(TupleDesc desc, const std::string& row, bool parenthesize) {
    // to_jsonb() gives SQL NULL and JSON null the same image: a json or jsonb
    // column that is NULL is left out of the image instead, so that a change
    // between the two is seen (occ.cpp compares the images column by column).
    // An array or composite column's image is its text (is_text_image_column).
    std::string drops, texts;
    for (int i = 0; i < desc->natts; ++i) {
        Form_pg_attribute a = TupleDescAttr(desc, i);
        if (a->attisdropped) continue;
        bool json = is_json_column(a);
        if (!json && !is_text_image_column(a)) continue;
        const char* name = NameStr(a->attname);
        std::string field = pg_call([name] { return quote_identifier(name); });
        std::string literal = pg_call([name] { return quote_literal_cstr(name); });
        std::string value = (parenthesize ? "(" + row + ")." : row + ".") + field;
        std::string& list = json ? drops : texts;
        if (!list.empty()) list += ", ";
        if (json)
            drops += "CASE WHEN " + value + " IS NULL THEN " + literal + " END";
        else
            texts += literal + ", " + value + "::pg_catalog.text";
    }
    std::string image = "pg_catalog.to_jsonb(" + row + (parenthesize ? "" : ".*") + ")";
    if (!drops.empty())
        image = "(" + image + " OPERATOR(pg_catalog.-) pg_catalog.array_remove(ARRAY[" + drops +
                "]::pg_catalog.text[], NULL))";
    // jsonb_object() of one array, not jsonb_build_object(): a function takes at
    // most 100 arguments, and a table may have more such columns than 50.
    if (!texts.empty())
        image = "(" + image + " OPERATOR(pg_catalog.||) pg_catalog.jsonb_object(ARRAY[" + texts +
                "]::pg_catalog.text[]))";
    return image;
}

namespace {

// The key columns `atts` each as its number, type and name: what a statement
// building the key from them (key_object_sql) depends on besides the row type.
std::string key_columns_key(TupleDesc desc, const std::vector<int>& atts) {
    std::string key;
    for (int att : atts) {
        Form_pg_attribute a = TupleDescAttr(desc, att - 1);
        key += std::to_string(att) + ':' + std::to_string(a->atttypid) + ':' + NameStr(a->attname) + '\n';
    }
    return key;
}

// Trigger -> the relation it was defined on (itself, or the partitioned table a
// clone comes from). Trigger oids are not reused while the trigger exists.
std::unordered_map<Oid, Oid>* origins = nullptr;

// Per-relation plans taking the table's row type (row types differ per table),
// with the json and key columns they were built for (the SQL names them).
struct ImagesPlan {
    std::string json_columns;
    Statement* statement;
};
std::unordered_map<Oid, ImagesPlan>* image_plans = nullptr;

Statement& images_plan(Relation rel) {
    if (image_plans == nullptr) image_plans = new std::unordered_map<Oid, ImagesPlan>();
    Oid relid = RelationGetRelid(rel);
    Oid rowtype = rel->rd_rel->reltype;
    // The key columns too: the key is built from them.
    std::vector<int> key_atts = primary_key_atts(rel);
    std::string json_columns = json_columns_key(RelationGetDescr(rel)) + "key " +
                               key_columns_key(RelationGetDescr(rel), key_atts);
    auto it = image_plans->find(relid);
    if (it != image_plans->end() && it->second.json_columns != json_columns) {
        it->second.statement->free_plan();  // a json column added, renamed or dropped
        delete it->second.statement;
        image_plans->erase(it);
        it = image_plans->end();
    }
    if (it == image_plans->end()) {
        // ($1 row a, $2 row b) -> key of a, image of a, image of b; every name
        // qualified, and run with the image settings pinned (PinnedSearchPath). The
        // key from a's key columns (not from its image: to_jsonb() of the row once).
        std::string a = row_image_sql(RelationGetDescr(rel), "$1", true);
        std::string b = row_image_sql(RelationGetDescr(rel), "$2", true);
        auto* st = new Statement("SELECT (" + key_object_sql(RelationGetDescr(rel), key_atts, "($1)") + ")::text, (" +
                                     a + ")::text, (" + b + ")::text",
                                 std::vector<Oid>{rowtype, rowtype});
        it = image_plans->emplace(relid, ImagesPlan{json_columns, st}).first;
    }
    return *it->second.statement;
}

}  // namespace

std::vector<int> primary_key_atts(Relation rel) {
    Bitmapset* cols = pg_call([rel] { return RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY); });
    std::vector<int> atts;
    for (int x = -1; (x = bms_next_member(cols, x)) >= 0;) {
        int att = x + FirstLowInvalidHeapAttributeNumber;
        if (att > 0) atts.push_back(att);
    }
    return atts;
}

std::string key_object_sql(TupleDesc desc, const std::vector<int>& atts, const std::string& row) {
    std::string sql = "pg_catalog.jsonb_build_object(";
    for (std::size_t i = 0; i < atts.size(); ++i) {
        Form_pg_attribute a = TupleDescAttr(desc, atts[i] - 1);
        const char* name = NameStr(a->attname);
        std::string lit = pg_call([name] { return static_cast<const char*>(quote_literal_cstr(name)); });
        std::string value = row.empty() ? "$" + std::to_string(i + 1)
                                        : row + "." + pg_call([name] { return quote_identifier(name); });
        // An array or composite key column by its text, as in the images: two
        // keys the type tells apart ('{1,2}' and '[0:1]={1,2}') are two rows.
        if (is_text_image_column(a)) value = "(" + value + ")::pg_catalog.text";
        sql += (i ? ", " : "") + lit + "::text, " + value;
    }
    return sql + ")";
}

namespace {

// The key alone, from the key columns' values (no image of the row: a row with a
// large value is neither flattened nor turned into JSON for its key). One plan per
// relation, made again when its key columns or their types change.
struct KeyPlan {
    std::string signature;
    std::vector<int> atts;
    Statement* statement;
};
std::unordered_map<Oid, KeyPlan>* key_plans = nullptr;

KeyPlan& key_plan(Relation rel) {
    if (key_plans == nullptr) key_plans = new std::unordered_map<Oid, KeyPlan>();
    TupleDesc desc = RelationGetDescr(rel);
    std::vector<int> atts = primary_key_atts(rel);
    std::vector<Oid> types;
    for (int att : atts) types.push_back(TupleDescAttr(desc, att - 1)->atttypid);
    std::string signature = key_columns_key(desc, atts);
    Oid relid = RelationGetRelid(rel);
    auto it = key_plans->find(relid);
    if (it != key_plans->end() && it->second.signature != signature) {
        it->second.statement->free_plan();
        delete it->second.statement;
        key_plans->erase(it);
        it = key_plans->end();
    }
    if (it == key_plans->end()) {
        std::string sql = "SELECT " + key_object_sql(desc, atts, "") + "::text";
        it = key_plans->emplace(relid, KeyPlan{signature, atts, new Statement(sql, types)}).first;
    }
    return it->second;
}

void pin_image_settings() {
    // Names resolve in pg_catalog only; and to_jsonb() prints values the same way
    // in every session (a float with every digit it needs, a timestamptz in UTC,
    // an interval or a bytea in one style): an image computed in one session is
    // compared with one computed in another.
    // (A setting already at its value is left alone: most sessions need only
    // search_path set. lc_monetary is not pinned: its check is costly, and money
    // printed in another locale can only look changed, never hide a change.)
    static const char* const settings[][2] = {{"extra_float_digits", "1"},
                                              {"TimeZone", "UTC"},
                                              {"IntervalStyle", "postgres"},
                                              {"DateStyle", "ISO, MDY"},
                                              {"bytea_output", "hex"}};
    (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                            false);
    for (const auto& setting : settings) {
        const char* now = GetConfigOption(setting[0], false, false);
        if (now != nullptr && strcmp(now, setting[1]) == 0) continue;
        (void)set_config_option(setting[0], setting[1], PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
    }
}

}  // namespace

PinnedSearchPath::PinnedSearchPath() {
    nest_ = pg_call([] {
        int n = NewGUCNestLevel();
        pin_image_settings();
        return n;
    });
    active_ = true;
}

void PinnedSearchPath::leave() {
    if (!active_) return;
    active_ = false;
    int nest = nest_;
    pg_call([nest] { AtEOXact_GUC(true, nest); });
}

Oid image_relation(const Trigger* trigger, Relation rel) {
    if (!trigger->tgisclone) return RelationGetRelid(rel);
    if (origins == nullptr) origins = new std::unordered_map<Oid, Oid>();
    auto it = origins->find(trigger->tgoid);
    if (it != origins->end()) return it->second;
    // Up the chain of parent triggers in pg_trigger, from C (no statement: this
    // runs with the caller's search_path).
    Oid fallback = RelationGetRelid(rel);
    Oid origin = pg_call([trigger, fallback] {
        Oid at = trigger->tgoid, found = fallback;
        Relation tg = table_open(TriggerRelationId, AccessShareLock);
        for (int depth = 0; OidIsValid(at) && depth < 1000; ++depth) {
            CHECK_FOR_INTERRUPTS();
            ScanKeyData key;
            ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(at));
            SysScanDesc scan = systable_beginscan(tg, TriggerOidIndexId, true, nullptr, 1, &key);
            HeapTuple tuple = systable_getnext(scan);
            Oid parent = InvalidOid;
            if (HeapTupleIsValid(tuple)) {
                auto* form = reinterpret_cast<Form_pg_trigger>(GETSTRUCT(tuple));
                parent = form->tgparentid;
                if (!OidIsValid(parent)) found = form->tgrelid;
            }
            systable_endscan(scan);
            at = parent;
        }
        table_close(tg, AccessShareLock);
        return found;
    });
    (*origins)[trigger->tgoid] = origin;
    return origin;
}

// Quoting as images and conflicts store names, whatever quote_all_identifiers
// the session set (a name quoted differently would not be found again).
std::string stored_name(const char* schema, const char* rel) {
    const char* q = pg_call([schema, rel] {
        bool saved = quote_all_identifiers;
        quote_all_identifiers = false;
        const char* r = schema == nullptr ? quote_identifier(rel) : quote_qualified_identifier(schema, rel);
        quote_all_identifiers = saved;
        return r;
    });
    return q;
}

std::string relation_name(Oid relid) {
    struct Names {
        const char* schema;
        const char* rel;
    };
    Names n = pg_call([relid] {
        char* rel = get_rel_name(relid);
        if (rel == nullptr) elog(ERROR, "relation %u does not exist", relid);
        return Names{get_namespace_name(get_rel_namespace(relid)), rel};
    });
    return stored_name(n.schema, n.rel);
}

pg_uuid_t project_from_text(std::string_view text, Oid relid, const char* column_name, const std::string* key) {
    pg_uuid_t u{};
    if (uuid_from_text(text, &u)) return u;
    std::string table = relation_name(relid), column = column_name;
    ce::Detail detail;
    detail.add("table", table).add("column", column);
    if (key != nullptr) detail.add_json("key", *key);  // the key object (jsonb text)
    throw SqlError(ERRCODE_INVALID_TEXT_REPRESENTATION,
                   "project column \"" + column.substr(0, 64) + "\" of " + table.substr(0, 200) + " holds no uuid" +
                       (key != nullptr ? " in a row" : ""),
                   detail.add("reason", "not a uuid"), "The project column names the row's project: a uuid, or NULL for none.");
}

std::vector<std::string> primary_key(Relation rel) {
    std::vector<std::string> names;
    TupleDesc desc = RelationGetDescr(rel);
    for (int att : primary_key_atts(rel)) names.emplace_back(NameStr(TupleDescAttr(desc, att - 1)->attname));
    return names;
}

RowImages row_images(Spi& spi, Relation rel, HeapTuple a, HeapTuple b, bool rows) {
    TupleDesc desc = RelationGetDescr(rel);
    if (!rows) {
        KeyPlan& kp = key_plan(rel);
        std::vector<Datum> values(kp.atts.size());
        std::string nulls(kp.atts.size(), ' ');
        for (std::size_t i = 0; i < kp.atts.size(); ++i) {
            int att = kp.atts[i];
            bool isnull = false;
            values[i] = pg_call([a, att, desc, &isnull] { return heap_getattr(a, att, desc, &isnull); });
            if (isnull) nulls[i] = 'n';
        }
        PinnedSearchPath pinned;
        RowImages im;
        {
            Rows r = kp.statement->run(spi, values, nulls, true, 1);
            im.key = r.text(0, 0);
        }
        pinned.leave();
        return im;
    }
    std::vector<Datum> args(2);
    std::string nulls = "  ";
    args[0] = pg_call([a, desc] { return heap_copy_tuple_as_datum(a, desc); });
    if (b != nullptr) args[1] = pg_call([b, desc] { return heap_copy_tuple_as_datum(b, desc); });
    else nulls[1] = 'n';
    PinnedSearchPath pinned;
    RowImages im;
    {
        Rows r = images_plan(rel).run(spi, args, nulls, true, 1);
        im.key = r.text(0, 0);
        if (rows) {
            im.a_row = r.text(0, 1);
            if (b != nullptr) im.b_row = r.text(0, 2);
        }
    }
    pinned.leave();
    return im;
}

std::optional<std::string> base_image(Spi& spi, const pg_uuid_t& project, const std::string& relation,
                                      const std::string& key, int64 version) {
    static Statement q(
        "SELECT v.row_data::text FROM concurrent_edit.occ_row_versions v "
        "WHERE v.project_id = $1 AND v.relation = $2 AND v.row_key = $3::jsonb AND v.version = $4",
        {UUIDOID, TEXTOID, TEXTOID, INT8OID});
    Rows r = q.run(spi, {uuid_datum(project), text_datum(relation), text_datum(key), Int64GetDatum(version)}, {}, true);
    if (r.empty()) return std::nullopt;
    return r.text(0, 0);
}

void check_image_key(const pg_uuid_t& project, const std::string& relation, const std::string& key) {
    constexpr Size kMaxEntry =
        MAXALIGN_DOWN((BLCKSZ - MAXALIGN(SizeOfPageHeaderData + 3 * sizeof(ItemIdData) + 3 * sizeof(ItemPointerData)) -
                       MAXALIGN(sizeof(BTPageOpaqueData))) /
                      3);
    // A key as jsonb takes at most about four times its text (small numbers); the
    // entry adds the name and some 40 bytes. Below this bound it fits unmeasured.
    if (4 * key.size() + relation.size() < 2400) return;
    Size entry = pg_call([&] {
        Oid nsp = get_namespace_oid("concurrent_edit", false);
        Relation rel = table_open(own_table(nsp, "occ_row_versions"), AccessShareLock);
        Relation index = index_open(primary_key_of(rel), AccessShareLock);
        auto* uuid = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
        *uuid = project;
        Datum values[4] = {UUIDPGetDatum(uuid), PointerGetDatum(cstring_to_text_with_len(relation.data(), relation.size())),
                           DirectFunctionCall1(jsonb_in, CStringGetDatum(key.c_str())), Int64GetDatum(0)};
        bool nulls[4] = {false, false, false, false};
        if (RelationGetDescr(index)->natts != 4) elog(ERROR, "occ_row_versions_pkey is not as the extension made it");
        IndexTuple tuple = index_form_tuple(RelationGetDescr(index), values, nulls);
        Size size = MAXALIGN(IndexTupleSize(tuple));
        pfree(tuple);
        index_close(index, AccessShareLock);
        table_close(rel, AccessShareLock);
        return size;
    });
    if (entry <= kMaxEntry) return;
    throw SqlError(ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                   "the primary key of a row of " + relation + " is too long to keep the row's images for merging",
                   ce::Detail()
                       .add("table", relation)
                       .add("key_bytes", static_cast<unsigned long long>(key.size()))
                       .add("index_entry_bytes", static_cast<unsigned long long>(entry))
                       .add("max_index_entry_bytes", static_cast<unsigned long long>(kMaxEntry)),
                   "Merge mode keeps each row's images under its key (as JSON); use a shorter key, or mode "
                   "'reject' or 'strict', which keep no images.");
}

void keep_image(Spi& spi, const pg_uuid_t& project, const std::string& relation, const std::string& key,
                int64 version, const std::string& row, int retain, bool inserted) {
    check_image_key(project, relation, key);
    static Statement q(
        "WITH ins AS (INSERT INTO concurrent_edit.occ_row_versions AS v (project_id, relation, row_key, version, row_data) "
        "    VALUES ($1, $2, $3::jsonb, $4, $5::jsonb) "
        "    ON CONFLICT (project_id, relation, row_key, version) DO UPDATE SET row_data = EXCLUDED.row_data, "
        "        created_at = now() RETURNING 1) "
        "DELETE FROM concurrent_edit.occ_row_versions v "
        "WHERE v.project_id = $1 AND v.relation = $2 AND v.row_key = $3::jsonb "
        "  AND (v.version <= $6 OR ($7 AND v.version <> $4))",
        {UUIDOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, INT8OID, BOOLOID});
    // The newest version dropped: `retain` below this one. Below the smallest bigint
    // (a version column near its minimum) none is (NULL: the comparison is not true).
    bool none_older = version < PG_INT64_MIN + static_cast<int64>(retain);
    q.run(spi, {uuid_datum(project), text_datum(relation), text_datum(key), Int64GetDatum(version), text_datum(row),
                Int64GetDatum(none_older ? 0 : version - retain), BoolGetDatum(inserted)},
          none_older ? "     n " : "");
}

void drop_images(Spi& spi, const pg_uuid_t& project, const std::string& relation, const std::string& key,
                 int64 version, bool inserted) {
    static Statement q(
        "DELETE FROM concurrent_edit.occ_row_versions v "
        "WHERE v.project_id = $1 AND v.relation = $2 AND v.row_key = $3::jsonb AND (v.version = $4 OR $5)",
        {UUIDOID, TEXTOID, TEXTOID, INT8OID, BOOLOID});
    q.run(spi, {uuid_datum(project), text_datum(relation), text_datum(key), Int64GetDatum(version),
                BoolGetDatum(inserted)});
}

}  // namespace ce::pg
