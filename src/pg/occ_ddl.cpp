// _occ_ddl(): keeps the table names of row images and row conflicts in step
// with the catalog (see occ_images.hpp for the images themselves).
#include <optional>
#include <vector>

#include "pg/occ_images.hpp"
#include "pg/owner.hpp"
#include "pg/results.hpp"

using namespace ce::pg;

// _occ_ddl() RETURNS event_trigger
//   Keeps the table names that row images (occ_row_versions.relation) and row
//   conflicts (conflict_history.row_relation) carry in step with the catalog. At
//   ddl_command_start of a rename (ALTER TABLE/INDEX ... RENAME, ALTER TABLE ...
//   SET SCHEMA, ALTER SCHEMA ... RENAME) the old name is noted, if the role owns
//   the table or schema; at ddl_command_end (the command done, its lock held) the
//   images and conflicts take the new name, after what an older table of that
//   name left there is deleted. At sql_drop a dropped table's are deleted.
//   Before, they stayed under the old name, and a new table given that name
//   inherited them: its owner read the conflicts' row data (the access check
//   resolves the name) and merged against the images.
//   An ALTER TABLE of a table under OCC that changes its primary key (its
//   columns' numbers or types) or adds, drops, renames or retypes a column
//   (noted at ddl_command_start and compared at the end; a retype's USING may
//   give rows other values and keys), or that attaches or detaches a partition
//   of it (at any depth), takes the table's images again from its rows
//   (occ_refresh_images), or drops them when it has no key now: images hold
//   a row by its columns' names, and are keyed by the key's values. Before, a
//   column dropped and added again under its name, or two key columns whose
//   names were swapped, passed the trigger's checks, and a stale update merged
//   against another value's or row's image; and after a column added with a
//   default, images without it (read as NULL) made a stale update conflict when
//   another writer had changed that column; and a partition detached, changed
//   without OCC and attached again kept its rows' old images, against which a
//   stale update that set a column back to its old value lost that change.
//   A command that changes how another type's values read (an enum's value
//   renamed; a composite type's or a table's row type's attributes renamed,
//   retyped or dropped) drops the images of the other tables under OCC that hold
//   such values. Runs as the role issuing the DDL, search_path pinned; only the
//   computed names cross into the owner's context.
namespace {

struct NameChange {
    std::string from;
    Oid relid;   // the table (InvalidOid for a schema)
    Oid schema;  // the schema (InvalidOid for a table)
};

// Renames noted at ddl_command_start, applied at the command's end.
std::vector<NameChange>* noted_renames = nullptr;

// The name of what a NameChange is about, now (before the command: its old name;
// after: its new one).
std::string current_name(const NameChange& n) {
    if (OidIsValid(n.relid)) return relation_name(n.relid);
    Oid ns = n.schema;
    const char* name = pg_call([ns] {
        const char* x = get_namespace_name(ns);
        if (x == nullptr) elog(ERROR, "schema %u does not exist", ns);
        return x;
    });
    return stored_name(nullptr, name) + ".";
}

// The rename a DDL command is about to make, if the role may make it.
std::vector<NameChange> renames_of(Node* stmt) {
    struct Found {
        Oid relid = InvalidOid;
        Oid schema = InvalidOid;
    };
    Found f = pg_call([stmt] {
        Found x;
        RangeVar* rv = nullptr;
        if (IsA(stmt, RenameStmt)) {
            auto* r = reinterpret_cast<RenameStmt*>(stmt);
            if ((r->renameType == OBJECT_TABLE || r->renameType == OBJECT_INDEX) && r->relation != nullptr)
                rv = r->relation;
            else if (r->renameType == OBJECT_SCHEMA && r->subname != nullptr)
                x.schema = get_namespace_oid(r->subname, true);
        } else if (IsA(stmt, AlterObjectSchemaStmt)) {
            auto* a = reinterpret_cast<AlterObjectSchemaStmt*>(stmt);
            if (a->objectType == OBJECT_TABLE && a->relation != nullptr) rv = a->relation;
        }
        if (rv != nullptr) {
            x.relid = RangeVarGetRelid(rv, NoLock, true);
            char kind = OidIsValid(x.relid) ? get_rel_relkind(x.relid) : '\0';
            // ALTER INDEX renames a table too; only tables have images.
            if ((kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE) ||
                !pg_class_ownercheck(x.relid, GetUserId()))
                x.relid = InvalidOid;
        }
        // Only what the role may rename: PostgreSQL refuses the others afterwards.
        if (OidIsValid(x.schema) && !pg_namespace_ownercheck(x.schema, GetUserId())) x.schema = InvalidOid;
        return x;
    });
    std::vector<NameChange> out;
    if (OidIsValid(f.relid)) out.push_back(NameChange{{}, f.relid, InvalidOid});
    if (OidIsValid(f.schema)) out.push_back(NameChange{{}, InvalidOid, f.schema});
    for (NameChange& n : out) n.from = current_name(n);
    return out;
}

// A table under OCC (the table enable_occ() was called on, not a partition)
// before an ALTER TABLE, to be compared at its end.
struct KeyNote {
    Oid relid;
    std::optional<std::string> key;  // its primary key's columns' numbers and types; nullopt: none
    std::string columns;             // [number, type, typmod, name] of each column
    bool retyped;                    // the command changes the type of a column
    bool partitions;                 // it attaches or detaches a partition of the table
    bool owned;                      // the role owns the table (not only a partition it alters)
};

std::vector<KeyNote>* noted_keys = nullptr;

// Whether `relid` is under OCC; its key (nullopt: none) and its columns.
struct Shape {
    bool occ = false;
    std::optional<std::string> key;
    std::string columns;
};
Shape table_shape(Spi& spi, Oid relid) {
    static Statement q(
        "SELECT (SELECT pg_catalog.string_agg(k.attnum::text || ':' || a.atttypid::text, ',' ORDER BY k.ord) "
        "        FROM pg_catalog.pg_index i "
        "        CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY k(attnum, ord) "
        "        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "        WHERE i.indrelid = $1 AND i.indisprimary), "
        "       (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(a.attnum, a.atttypid, a.atttypmod, "
        "                                                                 a.attname) ORDER BY a.attnum) "
        "        FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped)::text "
        "FROM pg_catalog.pg_trigger g "
        "WHERE g.tgrelid = $1 AND g.tgname = 'concurrent_edit_occ' AND g.tgparentid = 0",
        {OIDOID});
    // Not read-only: at ddl_command_end the statement's own snapshot predates the
    // command, and the catalog as the command left it is what is compared.
    Rows r = q.run(spi, {ObjectIdGetDatum(relid)});
    Shape out;
    out.occ = !r.empty();
    if (!out.occ) return out;
    if (!r.isnull(0, 0)) out.key = r.text(0, 0);
    if (!r.isnull(0, 1)) out.columns = r.text(0, 1);
    return out;
}

// The table under OCC that `relid` is, or is a partition of at any depth (the
// table enable_occ was called on); InvalidOid when none.
Oid occ_root(Spi& spi, Oid relid) {
    static Statement q(
        "SELECT a.relid FROM pg_catalog.pg_partition_ancestors($1) a "
        "JOIN pg_catalog.pg_trigger g ON g.tgrelid = a.relid AND g.tgname = 'concurrent_edit_occ' "
        "AND g.tgparentid = 0 LIMIT 1",
        {OIDOID});
    Rows r = q.run(spi, {ObjectIdGetDatum(relid)});
    return r.empty() ? InvalidOid : r.oid(0, 0);
}

// The table an ALTER TABLE (or a RENAME of one of its columns) is about to
// change, if it is under OCC. An ATTACH or DETACH PARTITION changes the rows of
// the table under OCC that the altered one is (or is a partition of, at any
// depth): rows come with their values, or leave and may come back changed.
std::vector<KeyNote> keys_of(Node* stmt) {
    RangeVar* rv = nullptr;
    bool retyped = false, partitions = false;
    if (IsA(stmt, AlterTableStmt)) {
        auto* a = reinterpret_cast<AlterTableStmt*>(stmt);
        if (a->objtype != OBJECT_TABLE) return {};
        rv = a->relation;
        ListCell* lc;
        foreach (lc, a->cmds) {
            AlterTableType t = reinterpret_cast<AlterTableCmd*>(lfirst(lc))->subtype;
            retyped |= t == AT_AlterColumnType;
            partitions |= t == AT_AttachPartition || t == AT_DetachPartition || t == AT_DetachPartitionFinalize;
        }
    } else if (IsA(stmt, RenameStmt)) {
        auto* r = reinterpret_cast<RenameStmt*>(stmt);
        if (r->renameType != OBJECT_COLUMN || r->relationType != OBJECT_TABLE) return {};
        rv = r->relation;
    }
    if (rv == nullptr) return {};
    Oid relid = pg_call([rv] {
        Oid r = RangeVarGetRelid(rv, NoLock, true);
        char kind = OidIsValid(r) ? get_rel_relkind(r) : '\0';
        return kind == RELKIND_RELATION || kind == RELKIND_PARTITIONED_TABLE ? r : InvalidOid;
    });
    if (!OidIsValid(relid)) return {};
    Spi spi;
    PinnedSearchPath pinned;
    if (partitions) {
        Oid root = occ_root(spi, relid);
        if (OidIsValid(root)) relid = root;
    }
    Shape shape = table_shape(spi, relid);
    pinned.leave();
    spi.finish();
    if (!shape.occ) return {};
    bool owned = pg_call([relid] { return pg_class_ownercheck(relid, GetUserId()); });
    return {KeyNote{relid, shape.key, shape.columns, retyped, partitions, owned}};
}

// ATTACH PARTITION of a table with its own optimistic concurrency (enable_occ
// called on it) to a table under OCC at any depth: PostgreSQL would clone the
// table's trigger onto it and fail on the trigger's name (42710, without a JSON
// DETAIL). Refused first with 55000 naming both, as enable_occ refuses to
// configure a partition of a table under OCC.
void refuse_configured_partition(Node* stmt) {
    if (!IsA(stmt, AlterTableStmt)) return;
    auto* a = reinterpret_cast<AlterTableStmt*>(stmt);
    RangeVar* part = nullptr;
    ListCell* lc;
    foreach (lc, a->cmds) {
        auto* cmd = reinterpret_cast<AlterTableCmd*>(lfirst(lc));
        if (cmd->subtype == AT_AttachPartition && cmd->def != nullptr && IsA(cmd->def, PartitionCmd))
            part = reinterpret_cast<PartitionCmd*>(cmd->def)->name;
    }
    if (part == nullptr || a->relation == nullptr) return;
    RangeVar* parent_rv = a->relation;
    Oid parent = pg_call([parent_rv] { return RangeVarGetRelid(parent_rv, NoLock, true); });
    Oid child = pg_call([part] { return RangeVarGetRelid(part, NoLock, true); });
    if (!OidIsValid(parent) || !OidIsValid(child)) return;
    Spi spi;
    PinnedSearchPath pinned;
    Oid through = table_shape(spi, child).occ ? occ_root(spi, parent) : InvalidOid;
    pinned.leave();
    spi.finish();
    if (!OidIsValid(through)) return;
    std::string table = relation_name(child), top = relation_name(through);
    throw SqlError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                   table + " has optimistic concurrency of its own and cannot become a partition of " + top +
                       ", which has optimistic concurrency",
                   ce::Detail().add("table", table).add("through", top),
                   "Call disable_occ('" + table + "') first: as a partition it is configured through " + top + ".");
}

// The type whose values' text a command changes (ALTER TYPE ... RENAME VALUE of
// an enum; RENAME, ADD, ALTER or DROP ATTRIBUTE of a composite type), or the row
// type of a table whose columns an ALTER TABLE drops, renames or retypes: images
// of other tables holding such values (tables_holding) no longer read as they did.
Oid changed_type(Node* stmt) {
    return pg_call([stmt]() -> Oid {
        RangeVar* rv = nullptr;
        if (IsA(stmt, AlterEnumStmt)) {
            auto* e = reinterpret_cast<AlterEnumStmt*>(stmt);
            if (e->oldVal == nullptr) return InvalidOid;  // ADD VALUE changes no stored value
            return typenameTypeId(nullptr, makeTypeNameFromNameList(e->typeName));
        }
        if (IsA(stmt, RenameStmt)) {
            auto* r = reinterpret_cast<RenameStmt*>(stmt);
            if (r->renameType == OBJECT_ATTRIBUTE || r->renameType == OBJECT_COLUMN) rv = r->relation;
        } else if (IsA(stmt, AlterTableStmt)) {
            auto* a = reinterpret_cast<AlterTableStmt*>(stmt);
            ListCell* lc;
            foreach (lc, a->cmds) {
                AlterTableType t = reinterpret_cast<AlterTableCmd*>(lfirst(lc))->subtype;
                // A composite type's new attribute: typed tables get the column.
                if (t == AT_DropColumn || t == AT_AlterColumnType || (t == AT_AddColumn && a->objtype == OBJECT_TYPE))
                    rv = a->relation;
            }
        }
        if (rv == nullptr) return InvalidOid;
        Oid rel = RangeVarGetRelid(rv, NoLock, true);
        return OidIsValid(rel) ? get_rel_type_id(rel) : InvalidOid;
    });
}

// Tables under OCC, but `except`, whose rows hold values of `type`: a column of
// it, or of a type made of it (a domain, an array, a range or multirange, a
// composite with such an attribute), or rows of it (a typed table). Walked down
// from the tables under OCC (few), by key, so a DDL command in a database with
// none costs next to nothing.
std::vector<std::string> tables_holding(Spi& spi, Oid type, Oid except) {
    static Statement q(
        "WITH RECURSIVE occ AS (SELECT g.tgrelid AS rel FROM pg_catalog.pg_trigger g "
        "                       WHERE g.tgname = 'concurrent_edit_occ' AND g.tgparentid = 0 AND g.tgrelid <> $2), "
        "u(rel, typ) AS ("
        "  SELECT o.rel, a.atttypid FROM occ o JOIN pg_catalog.pg_attribute a "
        "         ON a.attrelid = o.rel AND a.attnum > 0 AND NOT a.attisdropped "
        "  UNION SELECT o.rel, c.reloftype FROM occ o JOIN pg_catalog.pg_class c ON c.oid = o.rel "
        "  UNION SELECT u.rel, inner_type.t FROM u JOIN pg_catalog.pg_type y ON y.oid = u.typ "
        "  CROSS JOIN LATERAL (SELECT y.typbasetype WHERE y.typbasetype <> 0 "
        "    UNION ALL SELECT y.typelem WHERE y.typelem <> 0 "
        "    UNION ALL SELECT a.atttypid FROM pg_catalog.pg_attribute a "
        "              WHERE y.typrelid <> 0 AND a.attrelid = y.typrelid AND a.attnum > 0 AND NOT a.attisdropped "
        "    UNION ALL SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = y.oid "
        "    UNION ALL SELECT r.rngtypid FROM pg_catalog.pg_range r WHERE r.rngmultitypid = y.oid) inner_type(t)) "
        "SELECT DISTINCT u.rel FROM u WHERE u.typ = $1",
        {OIDOID, OIDOID}, Scans::by_key);
    Rows r = q.run(spi, {ObjectIdGetDatum(type), ObjectIdGetDatum(except)});
    std::vector<std::string> out;
    for (uint64 i = 0; i < r.size(); ++i) out.push_back(relation_name(r.oid(i, 0)));
    return out;
}

}  // namespace

CE_FUNCTION(ce_occ_ddl) {
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
        throw SqlError(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED, "_occ_ddl() must be called as an event trigger",
                       "{\"function\": \"_occ_ddl\"}");
    auto* ev = reinterpret_cast<EventTriggerData*>(fcinfo->context);
    // The extension's own scripts (install, update) rename and drop its objects.
    if (creating_extension) return 0;
    // DROP EXTENSION (or DROP SCHEMA concurrent_edit CASCADE) takes the tables too.
    bool present = pg_call([] {
        Oid ns = get_namespace_oid("concurrent_edit", true);
        return OidIsValid(ns) && OidIsValid(get_relname_relid("conflict_history", ns)) &&
               OidIsValid(get_relname_relid("occ_row_versions", ns));
    });
    if (!present) return 0;
    if (noted_renames == nullptr) noted_renames = new std::vector<NameChange>();
    if (noted_keys == nullptr) noted_keys = new std::vector<KeyNote>();
    if (std::strcmp(ev->event, "ddl_command_start") == 0) {
        refuse_configured_partition(ev->parsetree);
        *noted_renames = renames_of(ev->parsetree);
        *noted_keys = keys_of(ev->parsetree);
        return 0;
    }
    struct Rename {
        std::string from, to;
        bool prefix, images;
    };
    std::vector<Rename> renames;
    std::vector<std::string> dropped, dropped_occ;
    std::vector<std::string> keyless;  // tables whose key changed and that have none now
    // Resolved under the role's search_path, as the command resolved it.
    const bool end = std::strcmp(ev->event, "ddl_command_end") == 0;
    const Oid type = end ? changed_type(ev->parsetree) : InvalidOid;
    Spi spi;
    PinnedSearchPath pinned;
    if (end) {
        std::vector<NameChange> noted = std::move(*noted_renames);
        noted_renames->clear();
        std::vector<KeyNote> keys = std::move(*noted_keys);
        noted_keys->clear();
        // A changed key, columns added, dropped, renamed or retyped, or a partition
        // attached or detached: the images are taken again from the rows, as the
        // role (it owns the table: it altered it), or dropped when there is no key
        // (or when the role altered a partition of a table it does not own).
        static Statement refresh("SELECT concurrent_edit.occ_refresh_images($1::pg_catalog.oid::pg_catalog.regclass)",
                                 {OIDOID});
        Oid altered = InvalidOid;
        for (const KeyNote& k : keys) {
            Shape now = table_shape(spi, k.relid);
            if (!now.occ || (now.key == k.key && now.columns == k.columns && !k.retyped && !k.partitions)) continue;
            altered = k.relid;
            if (now.key && k.owned)
                refresh.run(spi, {ObjectIdGetDatum(k.relid)});
            else
                keyless.push_back(relation_name(k.relid));
        }
        // Other tables' images that hold values of a type whose text changed:
        // dropped (their tables may be another role's; a stale update then
        // reports a conflict instead of merging against an image that reads
        // otherwise now).
        if (OidIsValid(type))
            for (std::string& t : tables_holding(spi, type, altered)) keyless.push_back(std::move(t));
        // Whether the table (or a table of the schema) is under OCC: only then can
        // images carry its name.
        static Statement has_occ(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid "
            "               WHERE g.tgname = 'concurrent_edit_occ' AND (c.oid = $1 OR c.relnamespace = $2))",
            {OIDOID, OIDOID});
        for (const NameChange& n : noted) {
            std::string to = current_name(n);
            if (to == n.from) continue;
            Rows r = has_occ.run(spi, {ObjectIdGetDatum(n.relid), ObjectIdGetDatum(n.schema)}, {}, true);
            renames.push_back(Rename{n.from, to, OidIsValid(n.schema), r.boolean(0, 0)});
        }
    } else {
        // The dropped tables, as the role dropping them (the function is only
        // callable in an sql_drop event trigger); column 2: whether the table had
        // an OCC trigger (only such a table has images; conflicts stay after
        // disable_occ).
        static Statement q(
            "WITH d AS (SELECT o.object_type, o.object_identity, o.schema_name, o.object_name, o.is_temporary "
            "           FROM pg_catalog.pg_event_trigger_dropped_objects() o) "
            "SELECT t.schema_name, t.object_name, EXISTS (SELECT FROM d g WHERE g.object_type = 'trigger' "
            "         AND g.object_identity = 'concurrent_edit_occ on ' || t.object_identity) "
            "FROM d t WHERE t.object_type = 'table' AND NOT t.is_temporary",
            {});
        Rows r = q.run(spi, {}, {}, true);
        for (uint64 i = 0; i < r.size(); ++i) {
            std::string schema = r.text(i, 0), rel = r.text(i, 1);
            std::string name = stored_name(schema.c_str(), rel.c_str());
            dropped.push_back(name);
            if (r.boolean(i, 2)) dropped_occ.push_back(name);
        }
    }
    pinned.leave();
    if (renames.empty() && dropped.empty() && keyless.empty()) {
        spi.finish();
        return 0;
    }
    // A name `col` matches: equal to `name`, or for a schema (`prefix` true)
    // starting with it. What an older table of the new name left is deleted
    // first; a rename replaces $1 by $2 (the whole name, or the schema's prefix).
#define CE_NAME_MATCH(col, name, prefix) \
    "CASE WHEN " prefix " THEN pg_catalog.starts_with(" col ", " name ") ELSE " col " = " name " END"
    static Statement clear_images("DELETE FROM concurrent_edit.occ_row_versions v WHERE " CE_NAME_MATCH("v.relation", "$1", "$2"),
                                  {TEXTOID, BOOLOID});
    static Statement clear_conflicts("DELETE FROM concurrent_edit.conflict_history c WHERE c.kind = 'row' AND "
                                     CE_NAME_MATCH("c.row_relation", "$1", "$2"),
                                     {TEXTOID, BOOLOID});
    static Statement rename_images(
        "UPDATE concurrent_edit.occ_row_versions v SET relation = CASE WHEN $3 "
        "  THEN $2 || pg_catalog.substr(v.relation, pg_catalog.length($1) + 1) ELSE $2 END "
        "WHERE " CE_NAME_MATCH("v.relation", "$1", "$3"),
        {TEXTOID, TEXTOID, BOOLOID});
    static Statement rename_conflicts(
        "UPDATE concurrent_edit.conflict_history c SET row_relation = CASE WHEN $3 "
        "  THEN $2 || pg_catalog.substr(c.row_relation, pg_catalog.length($1) + 1) ELSE $2 END "
        "WHERE c.kind = 'row' AND " CE_NAME_MATCH("c.row_relation", "$1", "$3"),
        {TEXTOID, TEXTOID, BOOLOID});
#undef CE_NAME_MATCH
    static Statement drop_images("DELETE FROM concurrent_edit.occ_row_versions v WHERE v.relation = ANY ($1)",
                                 {TEXTARRAYOID});
    static Statement drop_conflicts(
        "DELETE FROM concurrent_edit.conflict_history c WHERE c.kind = 'row' AND c.row_relation = ANY ($1)",
        {TEXTARRAYOID});
    OwnerContext owner;
    for (const Rename& n : renames) {
        std::vector<Datum> args{text_datum(n.from), text_datum(n.to), BoolGetDatum(n.prefix)};
        std::vector<Datum> target{args[1], args[2]};
        clear_conflicts.run(spi, target);
        rename_conflicts.run(spi, args);
        if (n.images) {
            clear_images.run(spi, target);
            rename_images.run(spi, args);
        }
    }
    if (!dropped.empty()) {
        drop_conflicts.run(spi, {text_array_datum(dropped)});  // by conflict_history_row_relation_idx
        if (!dropped_occ.empty()) drop_images.run(spi, {text_array_datum(dropped_occ)});
    }
    if (!keyless.empty()) drop_images.run(spi, {text_array_datum(keyless)});
    owner.leave();
    spi.finish();
    return 0;
}
