// A new version stored from C (version_rows.hpp). The statement it stands for
// (the INSERT into file_versions and the UPDATE of the file row, one statement)
// was the largest part of a 1 kB write's backend time, about 28 %: setting up its
// plan, the CHECKs read back from the catalog, the foreign key's check (a query
// of its own), the CTE. Plain C, run inside pg_call(); anything it does not
// keep as the statement would sends the write back to the statement, before
// anything is changed.
#include "pg/version_rows.hpp"

#include <cstring>

#include "pg/tables.hpp"
#include "pg/values.hpp"

namespace ce::pg {

bool file_row_ok(std::optional<int32> head_version, bool deleted_at_null, bool deleted_by_null) {
    return (!head_version || *head_version >= 1) && deleted_at_null == deleted_by_null;
}

bool file_version_row_ok(std::optional<int32> version, bool has_content, bool has_delta,
                         std::optional<int32> delta_base, std::optional<int32> depth, std::optional<int32> bytes) {
    return (!version || *version >= 1) && has_content != has_delta && has_delta == delta_base.has_value() &&
           (!delta_base || !version || *delta_base < *version) &&
           (!depth || ((*depth == 0) == has_content && *depth >= 0)) && (!bytes || *bytes >= 0);
}

namespace {

// The columns of file_versions and files, all of them (a row is formed whole, or
// checked whole before it is changed).
enum VersionColumn { VR_PROJECT, VR_FILE, VR_VERSION, VR_CONTENT, VR_DELTA, VR_BASE, VR_DEPTH, VR_BYTES, VR_HASH,
                     VR_CREATED_BY, VR_CREATED_AT, VR_SESSION, VR_CLOCK, kVersionColumnCount };
constexpr const char* kVersionColumns[kVersionColumnCount] = {
    "project_id", "file_id",      "version",    "content",    "delta",      "delta_base",  "depth",
    "bytes",      "content_hash", "created_by", "created_at", "session_id", "vector_clock"};
enum FileColumn { FR_PROJECT, FR_ID, FR_PATH, FR_KEY, FR_HEAD_VERSION, FR_HEAD_HASH, FR_HEAD_CLOCK, FR_HEAD_CONTENT,
                  FR_DELETED_AT, FR_DELETED_BY, FR_CREATED_BY, FR_CREATED_AT, FR_UPDATED_BY, FR_UPDATED_AT, FR_RENAMED_AT,
                  kFileColumnCount };
constexpr const char* kFileColumns[kFileColumnCount] = {
    "project_id", "id",         "path",       "normalized_path", "head_version", "head_hash",  "head_clock",
    "head_content", "deleted_at", "deleted_by", "created_by",    "created_at",   "updated_by", "updated_at",
    "renamed_at_version"};

Oid own_type(Oid nsp, const char* name) {
    return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum(name), ObjectIdGetDatum(nsp));
}

// Whether every trigger of `rel` that fires on `event` (TRIGGER_TYPE_INSERT or
// TRIGGER_TYPE_UPDATE) is a foreign key's: on the referenced side for an update
// (it acts only when a key column changes, and no update here changes one), or,
// with `fkey`, the check of that constraint of `rel` referencing `referenced`
// (store_version_c says why it is not run).
bool own_triggers(Relation rel, int event, const char* fkey, Oid referenced) {
    TriggerDesc* td = rel->trigdesc;
    for (int i = 0; td != nullptr && i < td->numtriggers; ++i) {
        const Trigger& t = td->triggers[i];
        if ((t.tgtype & event) == 0) continue;
        int kind = RI_FKey_trigger_type(t.tgfoid);
        if (kind == RI_TRIGGER_PK && event == TRIGGER_TYPE_UPDATE) continue;
        if (kind == RI_TRIGGER_FK && fkey != nullptr && t.tgconstrrelid == referenced) {
            char* name = get_constraint_name(t.tgconstraint);
            if (name != nullptr && std::strcmp(name, fkey) == 0) continue;
        }
        return false;
    }
    return true;
}

// Both tables opened for writing when they are as the extension made them.
struct VersionTables {
    Relation files = nullptr, versions = nullptr;
    Oid files_key = InvalidOid;  // files' primary key, found on (project_id, id)
    int fmap[kFileColumnCount], vmap[kVersionColumnCount];
    Oid clock_type = InvalidOid;
};

bool open_version_tables(VersionTables* t) {
    static CheckSeen file_check, version_check;
    Oid nsp = get_namespace_oid("concurrent_edit", false);
    Oid files_id = own_table(nsp, "files", true), versions_id = own_table(nsp, "file_versions", true);
    Oid hash = own_type(nsp, "sha256_hex"), clock = own_type(nsp, "vclock");
    if (!OidIsValid(files_id) || !OidIsValid(versions_id) || !OidIsValid(hash) || !OidIsValid(clock)) return false;
    const Oid ftypes[kFileColumnCount] = {UUIDOID, UUIDOID, TEXTOID,        TEXTOID, INT4OID,        hash,
                                          clock,   TEXTOID, TIMESTAMPTZOID, UUIDOID, UUIDOID,        TIMESTAMPTZOID,
                                          UUIDOID, TIMESTAMPTZOID, INT4OID};
    const Oid vtypes[kVersionColumnCount] = {UUIDOID, UUIDOID, INT4OID, TEXTOID,        BYTEAOID, INT4OID, INT4OID,
                                             INT4OID, hash,    UUIDOID, TIMESTAMPTZOID, UUIDOID,  clock};
    Relation files = table_open(files_id, RowExclusiveLock);
    Relation versions = table_open(versions_id, RowExclusiveLock);
    int* fm = t->fmap;
    int* vm = t->vmap;
    bool ok = map_columns(files, kFileColumns, kFileColumnCount, fm) &&
              columns_typed(files, fm, ftypes, kFileColumnCount) &&
              map_columns(versions, kVersionColumns, kVersionColumnCount, vm) &&
              columns_typed(versions, vm, vtypes, kVersionColumnCount) && plain_table(files) && plain_table(versions) &&
              own_triggers(files, TRIGGER_TYPE_UPDATE, nullptr, InvalidOid) &&
              own_triggers(versions, TRIGGER_TYPE_INSERT, "file_versions_file_fkey", files_id);
    if (ok) {
        const int fargs[3] = {fm[FR_HEAD_VERSION], fm[FR_DELETED_AT], fm[FR_DELETED_BY]};
        const int vargs[6] = {vm[VR_VERSION], vm[VR_CONTENT], vm[VR_DELTA], vm[VR_BASE], vm[VR_DEPTH], vm[VR_BYTES]};
        t->files_key = primary_key_of(files);
        ok = index_as_made(files, t->files_key, {"project_id", "id"}) &&
             own_check(files, "files_row_check", "ce_file_row_ok", fargs, 3, &file_check) &&
             own_check(versions, "file_versions_row_check", "ce_file_version_row_ok", vargs, 6, &version_check);
    }
    if (!ok) {
        table_close(versions, RowExclusiveLock);
        table_close(files, RowExclusiveLock);
        return false;
    }
    t->files = files;
    t->versions = versions;
    t->clock_type = clock;
    return true;
}

// The vclock of `text`, through the type's input function (as text::vclock).
Datum clock_datum(Oid type, const char* text) {
    static Oid seen = InvalidOid;
    static FmgrInfo input;
    static Oid ioparam;
    if (seen != type) {
        Oid fn;
        getTypeInputInfo(type, &fn, &ioparam);
        fmgr_info_cxt(fn, &input, TopMemoryContext);
        seen = type;
    }
    return InputFunctionCall(&input, const_cast<char*>(text), ioparam, -1);
}

void check_violation(Relation rel, const char* name) {
    ereport(ERROR, (errcode(ERRCODE_CHECK_VIOLATION),
                    errmsg("new row for relation \"%s\" violates check constraint \"%s\"",
                           RelationGetRelationName(rel), name),
                    errtableconstraint(rel, name)));
}

}  // namespace

bool store_version_c(const NewVersion& v) {
    PreventCommandIfReadOnly("INSERT");  // as the statement (lock_file refused it first)
    VersionTables t;
    if (!open_version_tables(&t)) return false;
    Snapshot snapshot = push_statement_snapshot();  // this call's earlier changes of the row seen
    TupleTableSlot* slot = table_slot_create(t.files, nullptr);
    ScanKeyData keys[2];
    ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&v.project_id));
    ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&v.file_id));
    if (!first_by_key(t.files, t.files_key, snapshot, keys, 2, slot)) {
        ExecDropSingleTupleTableSlot(slot);  // not the row lock_file locked: the statement says what is wrong
        PopActiveSnapshot();
        table_close(t.versions, RowExclusiveLock);
        table_close(t.files, RowExclusiveLock);
        return false;
    }
    bool full = v.delta == Datum(0);
    TimestampTz now = GetCurrentTransactionStartTimestamp();  // now()
    Datum clock = clock_datum(t.clock_type, v.clock);

    // The version's row, with its NOT NULL, domain and CHECK tests.
    Datum values[kVersionColumnCount];
    bool nulls[kVersionColumnCount] = {};
    values[VR_PROJECT] = UUIDPGetDatum(&v.project_id);
    values[VR_FILE] = UUIDPGetDatum(&v.file_id);
    values[VR_VERSION] = Int32GetDatum(v.version);
    values[VR_CONTENT] = v.content;
    nulls[VR_CONTENT] = !full;
    values[VR_DELTA] = v.delta;
    nulls[VR_DELTA] = full;
    values[VR_BASE] = Int32GetDatum(v.delta_base);
    nulls[VR_BASE] = full;
    values[VR_DEPTH] = Int32GetDatum(v.depth);
    values[VR_BYTES] = Int32GetDatum(v.bytes);
    values[VR_HASH] = v.hash;
    values[VR_CREATED_BY] = UUIDPGetDatum(&v.author);
    values[VR_CREATED_AT] = TimestampTzGetDatum(now);
    values[VR_SESSION] = UUIDPGetDatum(&v.session_id);
    nulls[VR_SESSION] = uuid_is_null(v.session_id);
    values[VR_CLOCK] = clock;
    HeapTuple row = form_row(t.versions, t.vmap, values, nulls, kVersionColumnCount, true);
    if (!file_version_row_ok(v.version, full, !full, full ? std::nullopt : std::optional<int32>(v.delta_base),
                             v.depth, v.bytes))
        check_violation(t.versions, "file_versions_row_check");

    // The file row's new head (its NOT NULLs hold: no value set is NULL).
    bool null_deleted_at, null_deleted_by;
    (void)slot_getattr(slot, t.fmap[FR_DELETED_AT] + 1, &null_deleted_at);
    (void)slot_getattr(slot, t.fmap[FR_DELETED_BY] + 1, &null_deleted_by);
    if (!file_row_ok(v.version, null_deleted_at, null_deleted_by)) check_violation(t.files, "files_row_check");
    const int columns[6] = {t.fmap[FR_HEAD_VERSION], t.fmap[FR_HEAD_HASH],   t.fmap[FR_HEAD_CLOCK],
                            t.fmap[FR_HEAD_CONTENT], t.fmap[FR_UPDATED_BY], t.fmap[FR_UPDATED_AT]};
    const Datum head[6] = {Int32GetDatum(v.version), v.hash, clock, v.content, UUIDPGetDatum(&v.author),
                           TimestampTzGetDatum(now)};
    HeapTuple updated = modified_row(t.files, slot, columns, head, 6);
    ItemPointerData at = slot->tts_tid;
    update_row(t.files, &at, updated);
    insert_row(t.versions, row);
    heap_freetuple(updated);  // each holds a copy of the text: not kept to the end of the call
    heap_freetuple(row);

    ExecDropSingleTupleTableSlot(slot);
    PopActiveSnapshot();
    table_close(t.versions, NoLock);  // kept to the end of the transaction
    table_close(t.files, NoLock);
    CommandCounterIncrement();  // the next statement sees both rows
    return true;
}

const VersionChain* read_chain_c(const pg_uuid_t& project_id, const pg_uuid_t& file_id, int32 version) {
    auto* chain = static_cast<VersionChain*>(palloc0(sizeof(VersionChain)));
    Snapshot snapshot = push_statement_snapshot();  // a writer that waited sees what was committed meanwhile
    Oid nsp = get_namespace_oid("concurrent_edit", false);
    Relation files = table_open(own_table(nsp, "files"), AccessShareLock);
    Relation versions = table_open(own_table(nsp, "file_versions"), AccessShareLock);
    AttrNumber head_version = column_of(files, "head_version"), head_content = column_of(files, "head_content");
    AttrNumber content = column_of(versions, "content"), delta = column_of(versions, "delta"),
               base = column_of(versions, "delta_base"), hash = column_of(versions, "content_hash"),
               depth = column_of(versions, "depth");
    TupleTableSlot* fs = table_slot_create(files, nullptr);
    TupleTableSlot* vs = table_slot_create(versions, nullptr);
    ScanKeyData keys[3];  // (project_id, id) of files, (project_id, file_id, version) of file_versions
    ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&project_id));
    ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&file_id));
    if (first_by_key(files, primary_key_of(files, {"project_id", "id"}), snapshot, keys, 2, fs)) {
        bool isnull;
        Datum d = slot_getattr(fs, head_version, &isnull);
        bool head = !isnull && DatumGetInt32(d) == version;
        Oid pk = primary_key_of(versions, {"project_id", "file_id", "version"});
        int32 next = version;
        while (chain->n <= ce::delta::kMaxDepth) {
            ScanKeyInit(&keys[2], 3, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(next));
            if (!first_by_key(versions, pk, snapshot, keys, 3, vs)) break;
            ChainLink& link = chain->links[chain->n];
            if (chain->n == 0) {
                d = slot_getattr(vs, hash, &isnull);
                chain->hash = text_of(d, isnull);
                d = slot_getattr(vs, depth, &isnull);
                chain->depth = isnull ? 0 : DatumGetInt32(d);
            }
            d = (chain->n == 0 && head) ? slot_getattr(fs, head_content, &isnull) : slot_getattr(vs, content, &isnull);
            link.content = text_of(d, isnull);
            d = slot_getattr(vs, delta, &isnull);
            link.delta = text_of(d, isnull);
            ++chain->n;
            if (link.content.data != nullptr) break;
            d = slot_getattr(vs, base, &isnull);
            if (isnull) break;
            next = DatumGetInt32(d);
        }
    }
    ExecDropSingleTupleTableSlot(vs);
    ExecDropSingleTupleTableSlot(fs);
    table_close(versions, AccessShareLock);
    table_close(files, AccessShareLock);
    PopActiveSnapshot();
    return chain;
}

}  // namespace ce::pg
