// The configuration of an OCC trigger, checked at every call (occ_config.hpp).
// Only the relation's TupleDesc and relcache entry are read: no catalog query.
#include "pg/occ_config.hpp"

#include <algorithm>
#include <cstring>

#include "concurrent_edit/json.hpp"
#include "pg/occ_images.hpp"
#include "pg/values.hpp"

extern "C" {
#include "parser/parse_coerce.h"
}

namespace ce::pg {
namespace {

int attnum_or_zero(TupleDesc desc, const char* name) {
    if (name == nullptr || *name == '\0') return 0;
    int n = pg_call([desc, name] { return SPI_fnumber(desc, name); });
    return n > 0 ? n : 0;
}

const char* function_name(bool before) { return before ? "_occ_trigger" : "_occ_after"; }

// What the errors of one call say about the trigger and its table.
struct Call {
    TriggerData* td;
    bool before;
    std::string table() const { return relation_name(RelationGetRelid(td->tg_relation)); }

    // 39P01: an argument enable_occ() never writes.
    [[noreturn]] void malformed(const char* argument, const std::string& value, const std::string& why) const {
        throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                       std::string(function_name(before)) + " argument " + argument + " is malformed (" + why +
                           "); use enable_occ()",
                       ce::Detail()
                           .add("function", function_name(before))
                           .add("trigger", td->tg_trigger->tgname)
                           .add("table", table())
                           .add("argument", argument)
                           .add("value", value));
    }
    [[noreturn]] void missing(const char* argument, const std::string& what, const std::string& column) const {
        throw SqlError(ERRCODE_UNDEFINED_COLUMN,
                       what + " \"" + column.substr(0, 64) + "\" no longer exists; run enable_occ() again",
                       ce::Detail().add("table", table()).add("argument", argument).add("column", column));
    }
    [[noreturn]] void mistyped(const char* argument, const std::string& what, int att, const char* needs) const {
        Form_pg_attribute a = TupleDescAttr(RelationGetDescr(td->tg_relation), att - 1);
        Oid t = a->atttypid;
        std::string type = pg_call([t] { return format_type_be(t); });
        std::string column = NameStr(a->attname);
        throw SqlError(ERRCODE_DATATYPE_MISMATCH,
                       what + " \"" + column.substr(0, 64) + "\" is now of type " + type + "; run enable_occ() again",
                       ce::Detail().add("table", table()).add("argument", argument).add("column", column).add("type", type),
                       std::string("The ") + what + " must be " + needs + ".");
    }
    [[noreturn]] void generated(const char* argument, const std::string& what, int att) const {
        std::string column = NameStr(TupleDescAttr(RelationGetDescr(td->tg_relation), att - 1)->attname);
        throw SqlError(ERRCODE_GENERATED_ALWAYS,
                       what + " \"" + column.substr(0, 64) + "\" is a generated column; run enable_occ() again",
                       ce::Detail().add("table", table()).add("argument", argument).add("column", column).add("generated", true),
                       "The trigger writes this column: PostgreSQL computes a generated column's value itself.");
    }
    [[noreturn]] void same_column(const char* argument, const std::string& what, int att, const char* other) const {
        std::string column = NameStr(TupleDescAttr(RelationGetDescr(td->tg_relation), att - 1)->attname);
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE,
                       what + " \"" + column.substr(0, 64) + "\" is also the " + other + "; run enable_occ() again",
                       ce::Detail().add("table", table()).add("argument", argument).add("column", column).add("conflicts_with", other),
                       "The trigger writes this column: it must not be the version column, a key column or another column it writes.");
    }
};

bool parse_bool(const Call& call, const char* argument, const char* s) {
    if (std::strcmp(s, "t") == 0 || std::strcmp(s, "true") == 0) return true;
    if (std::strcmp(s, "f") == 0 || std::strcmp(s, "false") == 0) return false;
    call.malformed(argument, s, "not a boolean");
}

// A list of column names: a JSON array of names (enable_occ of this version; any
// name, commas included), or comma-separated (triggers created by version 1.0).
// Empty names (a JSON null or "") are refused: no column has one.
std::vector<std::string> name_list(const Call& call, const char* argument, const char* s) {
    std::vector<std::string> out;
    if (*s == '[') {
        ce::json::Value list;
        try {
            list = ce::json::parse(server_to_utf8(s));  // the names are in the database's encoding
        } catch (const ce::Error&) {
            call.malformed(argument, s, "not JSON");
        }
        if (!list.is_array()) call.malformed(argument, s, "not a JSON array");
        for (const auto& v : list.items()) {
            if (!v.is_string() || v.text().empty()) call.malformed(argument, s, "an element is not a column name");
            out.push_back(utf8_to_server(std::string(v.text())));
        }
        return out;
    }
    std::string cur;
    for (const char* p = s;; ++p) {
        if (*p == ',' || *p == '\0') {
            if (cur.empty()) call.malformed(argument, s, "an empty column name");
            out.push_back(cur);
            cur.clear();
            if (*p == '\0') break;
        } else {
            cur.push_back(*p);
        }
    }
    return out;
}

// The primary key now must be the one enable_occ() recorded (rows are named by it
// in errors, images and conflicts).
std::vector<int> check_key(const Call& call, const char* configured) {
    Relation rel = call.td->tg_relation;
    TupleDesc desc = RelationGetDescr(rel);
    std::vector<std::string> names = name_list(call, "primary_key", configured);
    std::vector<int> atts = primary_key_atts(rel);
    bool same = names.size() == atts.size();
    for (const auto& n : names) {
        int a = attnum_or_zero(desc, n.c_str());
        same &= a != 0 && std::find(atts.begin(), atts.end(), a) != atts.end();
    }
    if (!same) {
        std::string now = "[";
        for (int a : atts) now += (now.size() > 1 ? ", " : "") + json_string(NameStr(TupleDescAttr(desc, a - 1)->attname));
        std::string table = call.table();
        throw SqlError(ERRCODE_INVALID_TABLE_DEFINITION,
                       atts.empty() ? table + " has no primary key now; run enable_occ() again"
                                    : "the primary key of " + table + " changed; run enable_occ() again",
                       ce::Detail().add("table", table).add("argument", "primary_key").add("configured", configured, 1024).add_json("primary_key", now + "]"),
                       "The trigger names rows by their primary key.");
    }
    return atts;
}

bool is_key(const OccConfig& c, int att) { return std::find(c.key_atts.begin(), c.key_atts.end(), att) != c.key_atts.end(); }

}  // namespace

void check_trigger_call(FunctionCallInfo fcinfo, bool before) {
    const char* name = function_name(before);
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED, std::string(name) + " must be called as a trigger",
                       ce::Detail().add("function", name));
    auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (before && (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
                   !TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
        throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                       "_occ_trigger must be a BEFORE UPDATE ... FOR EACH ROW trigger",
                       ce::Detail().add("function", name).add("trigger", td->tg_trigger->tgname));
    if (before && td->tg_trigger->tgnargs != 10)
        throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED, "_occ_trigger needs 10 arguments; use enable_occ()",
                       ce::Detail().add("function", name).add("arguments", td->tg_trigger->tgnargs));
    if (!before && (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
                    td->tg_trigger->tgnargs != 5))
        throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                       "_occ_after must be an AFTER ... FOR EACH ROW trigger created by enable_occ()",
                       ce::Detail().add("function", name).add("trigger", td->tg_trigger->tgname));
}

OccConfig decode_config(TriggerData* td, bool before) {
    const Call call{td, before};
    // A temporary table's name (pg_temp_N.t) is reused by later sessions, and its
    // drop at session end fires no event trigger: the images and row conflicts
    // kept under it would reach whoever next creates pg_temp_N.t. enable_occ()
    // refuses it; so does a trigger made by hand.
    if (td->tg_relation->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
        throw SqlError(ERRCODE_FEATURE_NOT_SUPPORTED,
                       "optimistic concurrency is not available for temporary table " + call.table(),
                       ce::Detail().add("table", call.table()).add("reason", "temporary"));
    TupleDesc desc = RelationGetDescr(td->tg_relation);
    char** args = td->tg_trigger->tgargs;
    OccConfig c;
    // The arguments' syntax (before: version, mode, strict, merge columns,
    // modified by, modified at, notify, project, array mode, key; after: version,
    // mode, notify, project, key).
    const char* mode = args[1];
    if (std::strcmp(mode, "reject") != 0 && std::strcmp(mode, "merge") != 0 && std::strcmp(mode, "strict") != 0)
        call.malformed("mode", mode, "not reject, merge or strict");
    c.merge = std::strcmp(mode, "merge") == 0;
    const char* project = before ? args[7] : args[3];
    if (before) {
        c.strict = parse_bool(call, "refuse_blind_writes", args[2]);
        c.notify = parse_bool(call, "notify", args[6]);
        c.array_mode = args[8];
        if (c.array_mode != "auto" && c.array_mode != "id" && c.array_mode != "sequence" && c.array_mode != "atomic")
            call.malformed("array_mode", args[8], "not auto, id, sequence or atomic");
    } else {
        c.notify = parse_bool(call, "notify", args[2]);
    }

    // The version column: an integer.
    c.version_column = args[0];
    c.version_att = attnum_or_zero(desc, args[0]);
    if (c.version_att == 0) call.missing("version_column", "version column", args[0]);
    c.version_type = TupleDescAttr(desc, c.version_att - 1)->atttypid;
    if (c.version_type != INT2OID && c.version_type != INT4OID && c.version_type != INT8OID)
        call.mistyped("version_column", "version column", c.version_att, "smallint, integer or bigint");
    // A generated one never changes (PostgreSQL computes it after the trigger).
    if (TupleDescAttr(desc, c.version_att - 1)->attgenerated != '\0')
        call.generated("version_column", "version column", c.version_att);
    // The primary key, as recorded.
    c.key_atts = check_key(call, before ? args[9] : args[4]);
    if (is_key(c, c.version_att)) call.same_column("version_column", "version column", c.version_att, "primary key");
    // The project column: uuid, or text holding one.
    if (*project != '\0') {
        c.project_att = attnum_or_zero(desc, project);
        if (c.project_att == 0) call.missing("project_column", "project column", project);
        Oid t = TupleDescAttr(desc, c.project_att - 1)->atttypid;
        if (t != UUIDOID && t != TEXTOID && t != VARCHAROID)
            call.mistyped("project_column", "project column", c.project_att, "uuid, text or varchar");
    }
    if (!before) return c;

    // The columns the trigger writes: never the version, a key column, the
    // project or each other.
    auto written = [&](const char* argument, const std::string& what, const char* name) {
        if (*name == '\0') return 0;
        int att = attnum_or_zero(desc, name);
        if (att == 0) call.missing(argument, what, name);
        if (att == c.version_att) call.same_column(argument, what, att, "version column");
        if (is_key(c, att)) call.same_column(argument, what, att, "primary key");
        if (att == c.project_att) call.same_column(argument, what, att, "project column");
        if (TupleDescAttr(desc, att - 1)->attgenerated != '\0') call.generated(argument, what, att);
        return att;
    };
    c.modified_by_att = written("modified_by_column", "modified-by column", args[4]);
    c.modified_at_att = written("modified_at_column", "modified-at column", args[5]);
    if (c.modified_at_att != 0) {
        if (c.modified_at_att == c.modified_by_att)
            call.same_column("modified_at_column", "modified-at column", c.modified_at_att, "modified-by column");
        Oid t = TupleDescAttr(desc, c.modified_at_att - 1)->atttypid;
        if (t != TIMESTAMPTZOID && t != TIMESTAMPOID)
            call.mistyped("modified_at_column", "modified-at column", c.modified_at_att, "timestamptz or timestamp");
    }
    if (c.modified_by_att != 0) {  // the writer's name, read in by the type's input function
        // (The built-in string types without a look at the catalog: this runs for
        // every row.)
        Oid t = TupleDescAttr(desc, c.modified_by_att - 1)->atttypid;
        bool builtin_string = t == TEXTOID || t == VARCHAROID || t == BPCHAROID || t == NAMEOID;
        if (!builtin_string && pg_call([t] { return TypeCategory(getBaseType(t)); }) != TYPCATEGORY_STRING)
            call.mistyped("modified_by_column", "modified-by column", c.modified_by_att, "text, varchar or another string type");
    }
    // The merge columns: '' is every column; a list (an empty one too) only those.
    c.merge_every_column = *args[3] == '\0';
    if (!c.merge_every_column) {
        for (const auto& name : name_list(call, "merge_columns", args[3])) {
            // A listed column renamed or dropped: merging every column instead
            // would lift the restriction the owner set.
            int att = attnum_or_zero(desc, name.c_str());
            if (att == 0) call.missing("merge_columns", "merge column", name);
            if (att == c.version_att) call.same_column("merge_columns", "merge column", att, "version column");
            if (is_key(c, att)) call.same_column("merge_columns", "merge column", att, "primary key");
            if (TupleDescAttr(desc, att - 1)->attgenerated != '\0') call.generated("merge_columns", "merge column", att);
            c.merge_atts.push_back(att);
        }
    }
    return c;
}

bool values_visible(Relation rel, Oid origin, const std::vector<int>& atts, bool row_security) {
    TupleDesc desc = RelationGetDescr(rel);
    Oid relid = RelationGetRelid(rel);
    const std::vector<int>* cols = &atts;
    return pg_call([desc, relid, origin, cols, row_security]() -> bool {
        Oid user = GetUserId();
        Oid through[2] = {relid, origin};
        for (int i = 0; i < (origin != relid && OidIsValid(origin) ? 2 : 1); ++i) {
            Oid r = through[i];
            if (row_security && check_enable_rls(r, InvalidOid, true) == RLS_ENABLED) continue;
            if (pg_class_aclcheck(r, user, ACL_SELECT) == ACLCHECK_OK) return true;
            bool all = true;
            for (int att : *cols) {
                // The same column of the table enable_occ() was called on (by name:
                // a partition's attribute numbers may differ).
                AttrNumber n = r == relid ? att : get_attnum(r, NameStr(TupleDescAttr(desc, att - 1)->attname));
                all &= n != InvalidAttrNumber && pg_attribute_aclcheck(r, n, user, ACL_SELECT) == ACLCHECK_OK;
            }
            if (all) return true;
        }
        return false;
    });
}

}  // namespace ce::pg
