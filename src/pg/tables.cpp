// The extension's own tables from C (tables.hpp).
#include "pg/tables.hpp"

extern "C" {
#include "utils/ruleutils.h"
}

#include <cstring>

namespace ce::pg {

Oid own_table(Oid nsp, const char* name, bool missing_ok) {
    for (;;) {
        uint64 seen = SharedInvalidMessageCounter;
        Oid relid = get_relname_relid(name, nsp);
        if (!OidIsValid(relid)) {
            if (missing_ok) return InvalidOid;
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                            errmsg("relation \"concurrent_edit.%s\" does not exist", name),
                            errhint("Reinstall the extension.")));
        }
        // Locked (as a statement's parse would) and looked up again: a DROP
        // (DROP EXTENSION) committed between the look and the lock leaves an oid
        // of no relation, which table_open() refused with XX000 ("could not open
        // relation with OID"); the look again, after the invalidations the lock
        // brought, finds no relation (42P01 above). Held to the end of the
        // transaction, it keeps the table from being dropped meanwhile. (As
        // RangeVarGetRelidExtended: no invalidation since the look, no look again.)
        LockRelationOid(relid, AccessShareLock);
        if (seen == SharedInvalidMessageCounter || get_relname_relid(name, nsp) == relid) return relid;
        UnlockRelationOid(relid, AccessShareLock);
    }
}

Oid primary_key_of(Relation rel) {
    Oid index = RelationGetPrimaryKeyIndex(rel);
    if (!OidIsValid(index))
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("concurrent_edit.%s has lost its primary key", RelationGetRelationName(rel)),
                        errhint("Reinstall the extension.")));
    return index;
}

bool index_as_made(Relation rel, Oid index, std::initializer_list<const char*> columns, bool partial) {
    HeapTuple t = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
    if (!HeapTupleIsValid(t)) elog(ERROR, "cache lookup failed for index %u", index);
    auto* ix = reinterpret_cast<Form_pg_index>(GETSTRUCT(t));
    TupleDesc desc = RelationGetDescr(rel);
    bool as_made = ix->indrelid == RelationGetRelid(rel) && ix->indnkeyatts == static_cast<int>(columns.size()) &&
                   heap_attisnull(t, Anum_pg_index_indexprs, nullptr) &&
                   (partial || heap_attisnull(t, Anum_pg_index_indpred, nullptr));
    int i = 0;
    for (const char* name : columns) {
        if (!as_made) break;
        AttrNumber att = ix->indkey.values[i++];
        as_made = att > 0 && att <= desc->natts && std::strcmp(NameStr(TupleDescAttr(desc, att - 1)->attname), name) == 0;
    }
    ReleaseSysCache(t);
    return as_made;
}

Oid key_as_made(Relation rel, Oid index, std::initializer_list<const char*> columns, bool partial) {
    if (!index_as_made(rel, index, columns, partial)) {
        StringInfoData list;  // palloc'd: the error below unwinds no C++ object
        initStringInfo(&list);
        for (const char* name : columns) appendStringInfo(&list, "%s%s", list.len > 0 ? ", " : "", name);
        const char* iname = get_rel_name(index);
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("index concurrent_edit.%s is not on (%s) of concurrent_edit.%s as the extension made it",
                               iname ? iname : "?", list.data, RelationGetRelationName(rel)),
                        errdetail("{\"table\": \"%s\", \"index\": \"%s\", \"columns\": \"(%s)\"}",
                                  RelationGetRelationName(rel), iname ? iname : "", list.data),
                        errhint("Restore the index, or reinstall the extension.")));
    }
    return index;
}

Oid primary_key_of(Relation rel, std::initializer_list<const char*> columns) {
    return key_as_made(rel, primary_key_of(rel), columns);
}

Oid own_index(Relation rel, Oid nsp, const char* name, std::initializer_list<const char*> columns, bool partial) {
    return key_as_made(rel, own_table(nsp, name), columns, partial);
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

bool columns_typed(Relation rel, const int* map, const Oid* types, int count, bool domains) {
    TupleDesc desc = RelationGetDescr(rel);
    for (int k = 0; k < count; ++k) {
        Form_pg_attribute a = TupleDescAttr(desc, map[k]);
        if (a->atttypmod != -1 || (a->atttypid != types[k] && !(domains && getBaseType(a->atttypid) == types[k])))
            return false;
    }
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

namespace {

// Stored expressions (CHECKs, defaults) compared with what the extension made,
// each deparsed once per backend (and again after it changed).
struct ExprSeen {
    Oid relid = InvalidOid;
    char* bin = nullptr;
    const char* expected = nullptr;
    bool same = false;
};
constexpr int kExprSeen = 16;
ExprSeen expr_seen[kExprSeen];
int expr_next = 0;

}  // namespace

bool stored_expr_is(Relation rel, const char* bin, const char* expected) {
    Oid relid = RelationGetRelid(rel);
    for (const ExprSeen& e : expr_seen)
        if (e.bin != nullptr && e.relid == relid && e.expected == expected && std::strcmp(e.bin, bin) == 0)
            return e.same;
    // Deparsed under a search path of pg_catalog alone: other names come out
    // schema-qualified, whatever the caller's path (an error on the way pops
    // the path with the transaction's abort).
    auto* path = static_cast<OverrideSearchPath*>(palloc0(sizeof(OverrideSearchPath)));
    path->addCatalog = true;
    PushOverrideSearchPath(path);
    char* text = deparse_expression(static_cast<Node*>(stringToNode(bin)),
                                    deparse_context_for(RelationGetRelationName(rel), relid), false, false);
    PopOverrideSearchPath();
    ExprSeen& e = expr_seen[expr_next];
    expr_next = (expr_next + 1) % kExprSeen;
    if (e.bin != nullptr) pfree(e.bin);
    e.bin = MemoryContextStrdup(TopMemoryContext, bin);
    e.relid = relid;
    e.expected = expected;
    e.same = std::strcmp(text, expected) == 0;
    return e.same;
}

bool default_is(Relation rel, AttrNumber att, const char* expected) {
    TupleConstr* c = RelationGetDescr(rel)->constr;
    const char* bin = nullptr;
    for (int i = 0; c != nullptr && i < c->num_defval; ++i)
        if (c->defval[i].adnum == att) bin = c->defval[i].adbin;
    if (bin == nullptr || expected == nullptr) return bin == nullptr && expected == nullptr;
    return stored_expr_is(rel, bin, expected);
}

bool checks_are(Relation rel, std::initializer_list<NamedExpr> expected) {
    TupleConstr* c = RelationGetDescr(rel)->constr;
    int n = c == nullptr ? 0 : c->num_check;
    if (n != static_cast<int>(expected.size())) return false;
    for (const NamedExpr& x : expected) {
        int i = 0;
        while (i < n && std::strcmp(c->check[i].ccname, x.name) != 0) ++i;
        if (i == n || !stored_expr_is(rel, c->check[i].ccbin, x.expr)) return false;
    }
    return true;
}

bool own_check(Relation rel, const char* name, const char* symbol, const int* args, int nargs, CheckSeen* seen) {
    TupleConstr* c = RelationGetDescr(rel)->constr;
    if (c == nullptr || c->num_check != 1 || std::strcmp(c->check[0].ccname, name) != 0) return false;
    const char* bin = c->check[0].ccbin;
    if (seen->relid == RelationGetRelid(rel) && seen->ccbin != nullptr && std::strcmp(seen->ccbin, bin) == 0)
        return true;
    Node* expr = static_cast<Node*>(stringToNode(bin));
    if (!IsA(expr, FuncExpr)) return false;
    auto* call = reinterpret_cast<FuncExpr*>(expr);
    if (list_length(call->args) != nargs) return false;
    for (int i = 0; i < nargs; ++i) {
        auto* arg = static_cast<Node*>(list_nth(call->args, i));
        if (!IsA(arg, Var) || reinterpret_cast<Var*>(arg)->varattno != args[i] + 1) return false;
    }
    HeapTuple proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(call->funcid));
    if (!HeapTupleIsValid(proc)) return false;
    bool isnull;
    Datum src = SysCacheGetAttr(PROCOID, proc, Anum_pg_proc_prosrc, &isnull);
    bool ok = reinterpret_cast<Form_pg_proc>(GETSTRUCT(proc))->prolang == ClanguageId && !isnull &&
              std::strcmp(TextDatumGetCString(src), symbol) == 0;
    ReleaseSysCache(proc);
    if (ok) {
        if (seen->ccbin != nullptr) pfree(seen->ccbin);
        seen->ccbin = MemoryContextStrdup(TopMemoryContext, bin);
        seen->relid = RelationGetRelid(rel);
    }
    return ok;
}

bool pending_table_as_made(Relation rel, int* map) {
    auto att = [map](int col) { return static_cast<AttrNumber>(map[col] + 1); };
    return map_columns(rel, kPendingColumns, kPendingColumnCount, map) &&
           columns_typed(rel, map, kPendingTypes, kPendingColumnCount) && checks_are(rel, {}) &&
           plain_relation(rel) && default_is(rel, att(P_CREATED), "now()") && default_is(rel, att(P_VERSION), nullptr) &&
           default_is(rel, att(P_HASH), nullptr);
}

void check_domain(Datum value, Oid type) {
    // The compiled checks of up to four domains (change_log's event_kind and
    // json_object, sha256_hex), kept for the backend's life.
    constexpr int kSlots = 4;
    static Oid types[kSlots] = {InvalidOid, InvalidOid, InvalidOid, InvalidOid};
    static void* extra[kSlots] = {nullptr, nullptr, nullptr, nullptr};
    static int next = 0;
    if (get_typtype(type) != TYPTYPE_DOMAIN) return;
    int slot = 0;
    while (slot < kSlots && types[slot] != type) ++slot;
    if (slot == kSlots) {
        slot = next;
        next = (next + 1) % kSlots;
        types[slot] = type;
        extra[slot] = nullptr;
    }
    domain_check(value, false, type, &extra[slot], TopMemoryContext);
}

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

namespace {

// Whether the indexes of `rel` are on plain columns only, immediate, not for an
// exclusion constraint.
bool plain_indexes(Relation rel) {
    List* indexes = RelationGetIndexList(rel);
    bool plain = true;
    ListCell* lc;
    foreach (lc, indexes) {
        Relation irel = index_open(lfirst_oid(lc), AccessShareLock);
        Form_pg_index ix = irel->rd_index;
        if (!ix->indimmediate || !heap_attisnull(irel->rd_indextuple, Anum_pg_index_indexprs, nullptr) ||
            ix->indisexclusion)
            plain = false;
        index_close(irel, AccessShareLock);
        if (!plain) break;
    }
    list_free(indexes);
    return plain;
}

}  // namespace

bool plain_table(Relation rel) {
    return rel->rd_rel->relkind == RELKIND_RELATION && !rel->rd_rel->relforcerowsecurity &&
           !rel->rd_rel->relhasrules && plain_indexes(rel);
}

bool plain_relation(Relation rel) { return rel->trigdesc == nullptr && plain_table(rel); }

namespace {

// Adds the index entries of `tuple` (a new row, or a new version that is not
// heap-only), at tuple->t_self; a partial index only when the row satisfies its
// predicate; none in an index not yet ready for inserts (one that CREATE INDEX
// CONCURRENTLY or REINDEX CONCURRENTLY is building: it may have no storage yet,
// and the build adds the row itself), as the executor skips it.
void insert_index_entries(Relation rel, HeapTuple tuple) {
    TupleTableSlot* slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
    ExecStoreHeapTuple(tuple, slot, false);
    slot->tts_tid = tuple->t_self;
    EState* estate = nullptr;  // for predicates
    List* indexes = RelationGetIndexList(rel);
    ListCell* lc;
    foreach (lc, indexes) {
        Relation irel = index_open(lfirst_oid(lc), RowExclusiveLock);
        IndexInfo* info = BuildIndexInfo(irel);
        bool wanted = info->ii_ReadyForInserts;
        if (wanted && info->ii_Predicate != NIL) {
            if (estate == nullptr) estate = CreateExecutorState();
            ExprContext* econtext = GetPerTupleExprContext(estate);
            econtext->ecxt_scantuple = slot;
            wanted = ExecQual(ExecPrepareQual(info->ii_Predicate, estate), econtext);
        }
        if (wanted) {
            Datum values[INDEX_MAX_KEYS];
            bool isnull[INDEX_MAX_KEYS];
            FormIndexDatum(info, slot, nullptr, values, isnull);
            (void)index_insert(irel, values, isnull, &slot->tts_tid, rel,
                               irel->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, false, info);
        }
        index_close(irel, RowExclusiveLock);
    }
    list_free(indexes);
    if (estate != nullptr) FreeExecutorState(estate);
    ExecDropSingleTupleTableSlot(slot);
}

}  // namespace

void insert_row(Relation rel, HeapTuple tuple) {
    simple_heap_insert(rel, tuple);
    insert_index_entries(rel, tuple);
}

void update_row(Relation rel, ItemPointer otid, HeapTuple updated) {
    TM_FailureData failure;
    LockTupleMode mode;
    TM_Result r = heap_update(rel, otid, updated, GetCurrentCommandId(true), InvalidSnapshot, true, &failure, &mode);
    if (r == TM_SelfModified)
        ereport(ERROR, (errcode(ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION),
                        errmsg("tuple to be updated was already modified by an operation triggered by the current "
                               "command")));
    if (r != TM_Ok)  // the caller holds the row's lock: not expected
        ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                        errmsg("could not serialize access due to concurrent %s",
                               r == TM_Deleted ? "delete" : "update")));
    if (!HeapTupleIsHeapOnly(updated)) insert_index_entries(rel, updated);
}

}  // namespace ce::pg
