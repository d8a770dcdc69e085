// The extension's own tables from C (tables.hpp).
#include "pg/tables.hpp"

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

}  // namespace ce::pg
