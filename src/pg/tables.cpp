// The extension's own tables from C (tables.hpp).
#include "pg/tables.hpp"

#include <cstring>

namespace ce::pg {

Oid own_table(Oid nsp, const char* name, bool missing_ok) {
    Oid relid = get_relname_relid(name, nsp);
    if (!OidIsValid(relid) && !missing_ok)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation \"concurrent_edit.%s\" does not exist", name),
                        errhint("Reinstall the extension.")));
    return relid;
}

Oid primary_key_of(Relation rel) {
    Oid index = RelationGetPrimaryKeyIndex(rel);
    if (!OidIsValid(index))
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("concurrent_edit.%s has lost its primary key", RelationGetRelationName(rel)),
                        errhint("Reinstall the extension.")));
    return index;
}

AttrNumber column_of(Relation rel, const char* name) {
    TupleDesc desc = RelationGetDescr(rel);
    for (int i = 0; i < desc->natts; ++i) {
        Form_pg_attribute a = TupleDescAttr(desc, i);
        if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0) return a->attnum;
    }
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("concurrent_edit.%s has no column \"%s\"", RelationGetRelationName(rel), name),
                    errhint("Reinstall the extension.")));
    return InvalidAttrNumber;
}

RowText text_of(Datum d, bool isnull) {
    RowText t;
    if (isnull) return t;
    struct varlena* v = pg_detoast_datum_copy(reinterpret_cast<struct varlena*>(DatumGetPointer(d)));
    t.data = VARDATA(v);
    t.len = static_cast<int>(VARSIZE(v) - VARHDRSZ);
    return t;
}

RowText json_time(Datum d, bool isnull) {
    RowText t;
    if (isnull) return t;
    char buf[MAXDATELEN + 1];
    char* out = psprintf("\"%s\"", JsonEncodeDateTime(buf, d, TIMESTAMPTZOID, nullptr));
    t.data = out;
    t.len = static_cast<int>(strlen(out));
    return t;
}

pg_uuid_t uuid_of(Datum d, bool isnull) {
    pg_uuid_t u;
    std::memset(&u, 0, sizeof(u));
    if (!isnull) std::memcpy(&u, DatumGetUUIDP(d), sizeof(u));
    return u;
}

const char* const kPendingColumns[kPendingColumnCount] = {"project_id", "id",         "event",      "file_id",
                                                          "path",       "version",    "content_hash", "session_id",
                                                          "author",     "details",    "created_at"};
const char* const kLogColumns[kPendingColumnCount] = {"project_id", "cursor",     "event",        "file_id",
                                                      "path",       "version",    "content_hash", "session_id",
                                                      "author",     "details",    "created_at"};

const Oid kPendingTypes[kPendingColumnCount] = {UUIDOID, INT8OID, TEXTOID, UUIDOID, TEXTOID, INT4OID,
                                                TEXTOID, UUIDOID, UUIDOID, JSONBOID, TIMESTAMPTZOID};

bool columns_typed(Relation rel, const int* map, const Oid* types, int count) {
    TupleDesc desc = RelationGetDescr(rel);
    for (int k = 0; k < count; ++k)
        if (TupleDescAttr(desc, map[k])->atttypid != types[k]) return false;
    return true;
}

bool map_columns(Relation rel, const char* const* names, int count, int* map) {
    TupleDesc desc = RelationGetDescr(rel);
    int live = 0;
    for (int i = 0; i < desc->natts; ++i) {
        Form_pg_attribute a = TupleDescAttr(desc, i);
        if (a->attisdropped) continue;
        ++live;
        int k = 0;
        while (k < count && std::strcmp(NameStr(a->attname), names[k]) != 0) ++k;
        if (k == count) return false;
        map[k] = i;
    }
    return live == count;
}

bool pending_table_as_made(Relation rel, int* map) {
    TupleConstr* c = RelationGetDescr(rel)->constr;
    return map_columns(rel, kPendingColumns, kPendingColumnCount, map) &&
           columns_typed(rel, map, kPendingTypes, kPendingColumnCount) && (c == nullptr || c->num_check == 0) &&
           plain_relation(rel);
}

namespace {

// The domain check of a column's value (change_log's event_kind and
// json_object), compiled once per backend and domain.
void check_domain(Datum value, Oid type) {
    static void* extra[2] = {nullptr, nullptr};
    static Oid types[2] = {InvalidOid, InvalidOid};
    if (get_typtype(type) != TYPTYPE_DOMAIN) return;
    int slot = types[0] == type || types[0] == InvalidOid ? 0 : 1;
    if (types[slot] != type) extra[slot] = nullptr;
    types[slot] = type;
    domain_check(value, false, type, &extra[slot], TopMemoryContext);
}

}  // namespace

HeapTuple form_row(Relation rel, const int* map, const Datum* values, const bool* nulls, int count,
                   bool check_domains) {
    TupleDesc desc = RelationGetDescr(rel);
    Datum* row = static_cast<Datum*>(palloc(desc->natts * sizeof(Datum)));
    bool* rownull = static_cast<bool*>(palloc(desc->natts * sizeof(bool)));
    for (int i = 0; i < desc->natts; ++i) rownull[i] = true;  // dropped columns
    for (int k = 0; k < count; ++k) {
        Form_pg_attribute a = TupleDescAttr(desc, map[k]);
        if (nulls[k] && a->attnotnull)
            ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
                            errmsg("null value in column \"%s\" of relation \"%s\" violates not-null constraint",
                                   NameStr(a->attname), RelationGetRelationName(rel))));
        if (check_domains && !nulls[k]) check_domain(values[k], a->atttypid);
        row[map[k]] = values[k];
        rownull[map[k]] = nulls[k];
    }
    return heap_form_tuple(desc, row, rownull);
}

HeapTuple modified_row(Relation rel, TupleTableSlot* slot, const int* columns, const Datum* values, int count) {
    TupleDesc desc = RelationGetDescr(rel);
    Datum* row = static_cast<Datum*>(palloc(desc->natts * sizeof(Datum)));
    bool* rownull = static_cast<bool*>(palloc0(desc->natts * sizeof(bool)));
    bool* replace = static_cast<bool*>(palloc0(desc->natts * sizeof(bool)));
    for (int k = 0; k < count; ++k) {
        row[columns[k]] = values[k];
        replace[columns[k]] = true;
    }
    return heap_modify_tuple(ExecFetchSlotHeapTuple(slot, false, nullptr), desc, row, rownull, replace);
}

Snapshot push_statement_snapshot(bool latest) {
    CommandCounterIncrement();
    if (latest) PushCopiedSnapshot(GetLatestSnapshot());
    else PushActiveSnapshot(GetTransactionSnapshot());
    UpdateActiveSnapshotCommandId();
    return GetActiveSnapshot();
}

bool plain_relation(Relation rel) {
    if (rel->trigdesc != nullptr || rel->rd_rel->relforcerowsecurity) return false;
    List* indexes = RelationGetIndexList(rel);
    bool plain = true;
    ListCell* lc;
    foreach (lc, indexes) {
        Relation irel = index_open(lfirst_oid(lc), AccessShareLock);
        Form_pg_index ix = irel->rd_index;
        if (!ix->indimmediate || !heap_attisnull(irel->rd_indextuple, Anum_pg_index_indexprs, nullptr) ||
            !heap_attisnull(irel->rd_indextuple, Anum_pg_index_indpred, nullptr) || ix->indisexclusion)
            plain = false;
        index_close(irel, AccessShareLock);
        if (!plain) break;
    }
    list_free(indexes);
    return plain;
}

namespace {

// Adds the index entries of `tuple` (a new row, or a new version that is not
// heap-only), at tuple->t_self.
void insert_index_entries(Relation rel, HeapTuple tuple) {
    TupleTableSlot* slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
    ExecStoreHeapTuple(tuple, slot, false);
    slot->tts_tid = tuple->t_self;
    List* indexes = RelationGetIndexList(rel);
    ListCell* lc;
    foreach (lc, indexes) {
        Relation irel = index_open(lfirst_oid(lc), RowExclusiveLock);
        IndexInfo* info = BuildIndexInfo(irel);
        Datum values[INDEX_MAX_KEYS];
        bool isnull[INDEX_MAX_KEYS];
        FormIndexDatum(info, slot, nullptr, values, isnull);
        (void)index_insert(irel, values, isnull, &slot->tts_tid, rel,
                           irel->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, false, info);
        index_close(irel, RowExclusiveLock);
    }
    list_free(indexes);
    ExecDropSingleTupleTableSlot(slot);
}

}  // namespace

void insert_row(Relation rel, HeapTuple tuple) {
    simple_heap_insert(rel, tuple);
    insert_index_entries(rel, tuple);
}

void update_row(Relation rel, ItemPointer otid, HeapTuple updated) {
    simple_heap_update(rel, otid, updated);
    if (!HeapTupleIsHeapOnly(updated)) insert_index_entries(rel, updated);
}

}  // namespace ce::pg
