// SQL functions of operation ordering and conflict handling: order_operations,
// detect_operation_conflicts, resolve_operations (src/sql/60_operations.sql,
// docs/reference/operations.md). The algorithms live in the core
// (concurrent_edit/ops.hpp); this file walks the jsonb input into plain structs and
// turns the results back into jsonb.
//
// Reading an operation: one pg_call per array element copies the fields it needs into
// a RawOp (plain data pointing into the detoasted jsonb or palloc'd text); the C++
// side then checks the JSON types and builds a ce::ops::Operation. Results are written
// in jsonb's binary form directly (operations_jsonb.hpp), copying the input's objects.
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/ops.hpp"
#include "concurrent_edit/vclock.hpp"
#include "pg/guc.hpp"
#include "pg/json_jsonb.hpp"
#include "pg/operations_jsonb.hpp"
#include "pg/results.hpp"

namespace {

using ce::Errc;
using ce::pg::non_negative_integer;

// ---------------------------------------------------------------------------
// Step 1: arguments.

// A jsonb argument, its size checked before detoasting (54000 above
// concurrent_edit.max_input_size).
Jsonb* jsonb_arg(FunctionCallInfo fcinfo, int n, const char* name) {
    return ce::pg::jsonb_arg(fcinfo, n, name, ce::pg::max_input_bytes());
}

// The ops argument: a JSON array of at most kMaxOperations elements.
Jsonb* ops_arg(FunctionCallInfo fcinfo, int n) {
    Jsonb* jb = jsonb_arg(fcinfo, n, "ops");
    if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
        throw ce::pg::SqlError(CE_ERRCODE_INVALID_OPERATION, "ops must be a JSON array of operations",
                               ce::Detail().add("argument", "ops").add("type", JB_ROOT_IS_OBJECT(jb) ? "object" : "scalar"));
    if (JsonContainerSize(&jb->root) > ce::ops::kMaxOperations)
        throw ce::pg::SqlError(ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                               "too many operations: " + std::to_string(JsonContainerSize(&jb->root)),
                               ce::Detail()
                                   .add("operations", static_cast<unsigned long long>(JsonContainerSize(&jb->root)))
                                   .add("limit", ce::ops::kMaxOperations));
    return jb;
}

// ---------------------------------------------------------------------------
// Reading (inside pg_call: plain C data only).

constexpr int kAbsent = -1;

struct Field {
    int type = kAbsent;  // enum jbvType, or kAbsent
    const char* str = nullptr;  // string value; numeric as text; container as JSON text
    int len = 0;
    bool is_object = false;  // jbvBinary: object (else array)
    JsonbContainer* container = nullptr;
};

struct RawOp {
    bool is_object = false;
    char* json = nullptr;  // canonical JSON text of the element
    // Bytes its reading may take (element_bound); when more than the room it was
    // given, the element was not read (json and the fields are unset).
    std::size_t bound = 0;
    Field op_code, block_id, timestamp, replica_id, offset, target, deps;
    Field* dep_items = nullptr;  // when deps is an array
    int ndeps = 0;
};

bool utf8_database() { return GetDatabaseEncoding() == PG_UTF8; }

void read_field(JsonbContainer* obj, const char* key, Field* f) {
    JsonbValue k;
    k.type = jbvString;
    k.val.string.val = const_cast<char*>(key);
    k.val.string.len = static_cast<int>(strlen(key));
    JsonbValue* v = findJsonbValueFromContainer(obj, JB_FOBJECT, &k);
    if (v == nullptr) return;
    f->type = v->type;
    if (v->type == jbvString) {
        f->str = v->val.string.val;
        f->len = v->val.string.len;
    } else if (v->type == jbvNumeric) {
        f->str = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
        f->len = static_cast<int>(strlen(f->str));
    } else if (v->type == jbvBinary) {
        f->container = v->val.binary.data;
        f->is_object = JsonContainerIsObject(f->container);
    }
}

// A vector clock's text in UTF-8 (the form ce::VClock::parse reads).
void clock_text(Field* f) {
    if (f->type == jbvBinary && f->is_object) {
        f->str = JsonbToCString(nullptr, f->container, 64);
        f->len = static_cast<int>(strlen(f->str));
    }
    if ((f->type == jbvBinary || f->type == jbvString) && f->str != nullptr && !utf8_database()) {
        char* s = pnstrdup(f->str, f->len);
        f->str = pg_server_to_any(s, f->len, PG_UTF8);
        f->len = static_cast<int>(strlen(f->str));
    }
}

// An upper bound of what reading the object `obj` allocates: its JSON text (a
// string escaped as \u00XX is 6 bytes a byte; a number is as long as its text,
// which 1e131071 makes 131,072 characters out of 10 bytes of jsonb) and, per
// dependency, its Field and the std::string build_op makes of it. Each number's
// text is made, measured and freed one at a time. The count stops once past
// `room` (the element is refused then) and looks for interrupts: before, an
// element of 400,000 such numbers (a few hundred kB of jsonb) took 15 s to be
// refused, deaf to statement_timeout and cancel (TAP 031_operations_numbers).
std::size_t element_bound(JsonbContainer* obj, std::size_t room) {
    std::size_t n = 0;
    JsonbIterator* it = JsonbIteratorInit(obj);
    JsonbValue v;
    JsonbIteratorToken tok;
    while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE) {
        CHECK_FOR_INTERRUPTS();
        if (n > room) return n;
        if (tok != WJB_KEY && tok != WJB_VALUE && tok != WJB_ELEM) {
            n += 2;  // brackets
        } else if (v.type == jbvString) {
            n += 6 * static_cast<std::size_t>(v.val.string.len) + 4;
        } else if (v.type == jbvNumeric) {
            char* text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
            n += strlen(text) + 2;
            pfree(text);
        } else {
            n += 7;  // false, null and separators
        }
    }
    Field deps;
    read_field(obj, "dependencies", &deps);
    if (deps.type == jbvBinary && !deps.is_object)
        n += JsonContainerSize(deps.container) * (sizeof(Field) + sizeof(std::string));
    return n;
}

// Reads element i into *out, unless reading it would take more than `room` bytes
// (out->bound tells how many): the caller refuses it then, before the memory is used.
void read_op(JsonbContainer* array, uint32 i, RawOp* out, std::size_t room) {
    JsonbValue* e = getIthJsonbValueFromContainer(array, i);
    if (e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data)) {
        out->is_object = false;
        Jsonb* jb = JsonbValueToJsonb(e);  // a scalar (one number at most) or an array
        if (e->type == jbvBinary) out->bound = element_bound(&jb->root, room);
        if (out->bound > room) return;
        out->json = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
        return;
    }
    JsonbContainer* obj = e->val.binary.data;
    out->is_object = true;
    out->bound = element_bound(obj, room);
    if (out->bound > room) return;
    out->json = JsonbToCString(nullptr, obj, e->val.binary.len);
    read_field(obj, "opCode", &out->op_code);
    read_field(obj, "blockId", &out->block_id);
    read_field(obj, "timestamp", &out->timestamp);
    clock_text(&out->timestamp);
    read_field(obj, "replicaId", &out->replica_id);
    read_field(obj, "offset", &out->offset);
    read_field(obj, "targetBlockId", &out->target);
    read_field(obj, "dependencies", &out->deps);
    if (out->deps.type == jbvBinary && !out->deps.is_object) {
        int n = static_cast<int>(JsonContainerSize(out->deps.container));
        out->ndeps = n;
        out->dep_items = static_cast<Field*>(palloc0(sizeof(Field) * (n > 0 ? n : 1)));
        for (int k = 0; k < n; ++k) {
            JsonbValue* d = getIthJsonbValueFromContainer(out->deps.container, static_cast<uint32>(k));
            out->dep_items[k].type = d->type;
            if (d->type == jbvString) {
                out->dep_items[k].str = d->val.string.val;
                out->dep_items[k].len = d->val.string.len;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Building operations (C++ side).

const char* json_type_name(int type, bool is_object) {
    switch (type) {
        case jbvNull: return "null";
        case jbvString: return "a string";
        case jbvNumeric: return "a number";
        case jbvBool: return "a boolean";
        case jbvBinary: return is_object ? "an object" : "an array";
        default: return "missing";
    }
}

[[noreturn]] void bad_op(std::size_t i, const RawOp& raw, const std::string& what) {
    throw ce::Error(Errc::invalid_operation, "operation " + std::to_string(i + 1) + ": " + what,
                    raw.json != nullptr ? ce::Detail().add("operation", i + 1).add_json("op", raw.json)
                                        : ce::Detail().add("operation", i + 1));
}

std::string field_string(std::size_t i, const RawOp& raw, const Field& f, const char* name) {
    if (f.type != jbvString)
        bad_op(i, raw, std::string(name) + " must be a string, not " + json_type_name(f.type, f.is_object));
    return std::string(f.str, static_cast<std::size_t>(f.len));
}

std::optional<std::string> optional_string(std::size_t i, const RawOp& raw, const Field& f, const char* name) {
    if (f.type == kAbsent || f.type == jbvNull) return std::nullopt;
    return field_string(i, raw, f, name);
}

ce::ops::Operation build_op(std::size_t i, const RawOp& raw) {
    if (!raw.is_object) bad_op(i, raw, "an operation must be a JSON object");
    ce::ops::Operation op;
    op.json = raw.json;
    if (raw.op_code.type == kAbsent) bad_op(i, raw, "opCode is missing");
    op.op_code = field_string(i, raw, raw.op_code, "opCode");
    if (raw.block_id.type == kAbsent) bad_op(i, raw, "blockId is missing");
    op.block_id = field_string(i, raw, raw.block_id, "blockId");

    const Field& ts = raw.timestamp;
    if (ts.type == kAbsent) bad_op(i, raw, "timestamp is missing");
    if (ts.type == jbvNumeric) {
        std::optional<std::uint64_t> v = non_negative_integer(std::string_view(ts.str, static_cast<std::size_t>(ts.len)));
        if (!v) bad_op(i, raw, "timestamp must be an integer from 0 to 9223372036854775807 or a vector clock");
        op.timestamp = ce::ops::Timestamp::of_lamport(*v);
    } else if (ts.type == jbvString || (ts.type == jbvBinary && ts.is_object)) {
        try {
            op.timestamp = ce::ops::Timestamp::of_clock(
                ce::VClock::parse(std::string_view(ts.str, static_cast<std::size_t>(ts.len))));
        } catch (const ce::Error& e) {
            bad_op(i, raw, std::string("timestamp is not a valid vector clock: ") + e.what());
        }
    } else {
        bad_op(i, raw, std::string("timestamp must be an integer or a vector clock, not ") +
                           json_type_name(ts.type, ts.is_object));
    }

    op.replica_id = optional_string(i, raw, raw.replica_id, "replicaId");
    op.target_block_id = optional_string(i, raw, raw.target, "targetBlockId");
    const Field& off = raw.offset;
    if (off.type != kAbsent && off.type != jbvNull) {
        std::optional<std::uint64_t> v;
        if (off.type == jbvNumeric) v = non_negative_integer(std::string_view(off.str, static_cast<std::size_t>(off.len)));
        if (!v) bad_op(i, raw, "offset must be an integer from 0 to 9223372036854775807");
        op.offset = static_cast<std::int64_t>(*v);
    }
    const Field& deps = raw.deps;
    if (deps.type != kAbsent && deps.type != jbvNull) {
        if (deps.type != jbvBinary || deps.is_object)
            bad_op(i, raw, std::string("dependencies must be an array of block ids, not ") +
                               json_type_name(deps.type, deps.is_object));
        for (int k = 0; k < raw.ndeps; ++k) {
            const Field& d = raw.dep_items[k];
            if (d.type != jbvString) bad_op(i, raw, "dependencies must be an array of block ids (strings)");
            op.dependencies.emplace_back(d.str, static_cast<std::size_t>(d.len));
        }
    }
    return op;
}

// Each element is read in a scratch memory context, reset for the next one:
// build_op copies what it keeps, so memory stays bounded by one element. What it
// keeps, the element's JSON text above all (a number like 1e131071 takes 10 bytes
// in jsonb and 131,072 characters as text), is charged to `kept`, under the
// caller's Budget (concurrent_edit.max_merge_memory).
std::vector<ce::ops::Operation> read_operations(Jsonb* jb, ce::memory::Charge& kept) {
    JsonbContainer* root = &jb->root;
    const uint32 n = JsonContainerSize(root);
    std::vector<ce::ops::Operation> ops;
    ops.reserve(n);
    MemoryContext scratch = ce::pg::pg_call(
        [] { return AllocSetContextCreate(CurrentMemoryContext, "concurrent_edit operations", ALLOCSET_DEFAULT_SIZES); });
    ce::InterruptTicker ticker(256);
    for (uint32 i = 0; i < n; ++i) {
        ticker.tick();
        RawOp raw;
        RawOp* out = &raw;
        const std::size_t room = ce::memory::headroom();
        ce::pg::pg_call([root, i, out, scratch, room] {
            MemoryContextReset(scratch);
            MemoryContext old = MemoryContextSwitchTo(scratch);
            read_op(root, i, out, room);
            MemoryContextSwitchTo(old);
        });
        // What reading the element took (in `scratch`) counts while the operation
        // is built from it; an element that did not fit the room was not read, and
        // this charge refuses it (54000).
        ce::memory::Charge reading(raw.bound);
        ops.push_back(build_op(i, raw));
        const ce::ops::Operation& op = ops.back();
        std::size_t bytes = ce::memory::string_bytes(op.json.capacity()) + ce::memory::string_bytes(op.op_code.capacity()) +
                            ce::memory::string_bytes(op.block_id.capacity()) + sizeof(ce::ops::Operation);
        for (const std::string& d : op.dependencies) bytes += ce::memory::string_bytes(d.capacity()) + sizeof(std::string);
        kept.resize(kept.bytes() + bytes);
    }
    ce::pg::pg_call([scratch] { MemoryContextDelete(scratch); });
    return ops;
}

// The priorities argument: an object op code -> integer.
struct RawPriority {
    const char* key;
    int key_len;
    int type;
    const char* value;  // numeric text; NULL for a number longer than any integer accepted
};

// Longest numeric text of an accepted priority ("-9223372036854775807").
constexpr std::size_t kMaxPriorityText = 20;

// Whether a jsonb number can be a priority: no fractional digits (its scale is
// 0, as its text then has no point), within -9223372036854775807 ..
// 9223372036854775807. Cheap whatever the number (no text is made). Plain C.
bool priority_candidate(Numeric num) {
    if (numeric_is_nan(num) || numeric_is_inf(num)) return false;
    if (DatumGetInt32(DirectFunctionCall1(numeric_scale, NumericGetDatum(num))) != 0) return false;
    static Numeric bounds[2] = {nullptr, nullptr};  // in TopMemoryContext: made once
    if (bounds[0] == nullptr) {
        MemoryContext caller = MemoryContextSwitchTo(TopMemoryContext);
        Numeric low = int64_to_numeric(-PG_INT64_MAX), high = int64_to_numeric(PG_INT64_MAX);
        MemoryContextSwitchTo(caller);
        bounds[0] = low;
        bounds[1] = high;
    }
    return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(num), NumericGetDatum(bounds[0]))) >= 0 &&
           DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(num), NumericGetDatum(bounds[1]))) <= 0;
}

// Bytes one priority of `key_len` bytes keeps in Priorities' hash map: its node
// (the key's std::string, the value, the next pointer and the cached hash), the
// key's heap buffer when it does not fit in place, and about a bucket.
std::size_t priority_bytes(std::size_t key_len) {
    return ce::memory::malloc_size(sizeof(std::string) + 3 * sizeof(std::int64_t)) +
           ce::memory::string_bytes(key_len) + sizeof(void*);
}

// The priorities, their map's memory charged to `kept` (the caller's Budget): a
// priorities object of millions of small entries is refused (54000) as it is
// read. Before, none of it was counted: 2.5 million entries (a 9 MB column, 35 MB
// of jsonb) grew the backend by 376 MB under a 16 MB max_merge_memory. The
// entries' raw reading (RawPriority and each number's text, palloc'd) is charged
// too, before it is made, in a context of its own dropped once the map is built.
ce::ops::Priorities read_priorities(Jsonb* jb, ce::memory::Charge& kept) {
    ce::ops::Priorities p;
    if (jb == nullptr) return p;
    if (!JB_ROOT_IS_OBJECT(jb))
        throw ce::Error(Errc::invalid_parameter, "priorities must be a JSON object of op code -> integer",
                        ce::Detail().add("argument", "priorities")
                            .add("type", JB_ROOT_IS_SCALAR(jb) ? "scalar" : "array"));
    int n = static_cast<int>(JsonContainerSize(&jb->root));
    // Each entry: its RawPriority and its number's text (at most kMaxPriorityText
    // characters kept, in a palloc chunk with its header).
    ce::memory::Charge reading(static_cast<std::size_t>(n > 0 ? n : 1) * (sizeof(RawPriority) + 48));
    MemoryContext memory = ce::pg::own_context("concurrent_edit priorities", false);
    RawPriority* items = ce::pg::run_in(memory, [jb, n] {
        auto* out = static_cast<RawPriority*>(palloc0(sizeof(RawPriority) * (n > 0 ? n : 1)));
        JsonbIterator* it = JsonbIteratorInit(&jb->root);
        JsonbValue v;
        JsonbIteratorToken tok;
        int k = -1;
        while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
            if (tok == WJB_KEY) {
                ++k;
                out[k].key = v.val.string.val;
                out[k].key_len = v.val.string.len;
            } else if (tok == WJB_VALUE) {
                out[k].type = v.type;
                // Its text only when it can be a priority (an integer within
                // the bounds: at most kMaxPriorityText characters); any other
                // is refused as the text of a non-integer would be. Before,
                // every number's text was made first: 1e131071 is 131,072
                // characters, and 400,000 of them took 15 s, deaf to cancel
                // (TAP 031_operations_numbers).
                if (v.type == jbvNumeric && priority_candidate(v.val.numeric))
                    out[k].value = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
                CHECK_FOR_INTERRUPTS();
            }
        }
        return out;
    });
    for (int k = 0; k < n; ++k) {
        kept.resize(kept.bytes() + priority_bytes(static_cast<std::size_t>(items[k].key_len)));
        std::string key(items[k].key, static_cast<std::size_t>(items[k].key_len));
        std::string_view text = items[k].value != nullptr ? std::string_view(items[k].value) : std::string_view();
        bool negative = !text.empty() && text[0] == '-';
        std::optional<std::uint64_t> v;
        if (items[k].type == jbvNumeric) v = non_negative_integer(negative ? text.substr(1) : text);
        if (!v)
            throw ce::Error(Errc::invalid_parameter,
                            "priorities: the priority of \"" + ce::excerpt(key) + "\" must be an integer",
                            ce::Detail().add("argument", "priorities").add("op_code", key),
                            "Priorities are integers from -9223372036854775807 to 9223372036854775807.");
        p.set(key, negative ? -static_cast<std::int64_t>(*v) : static_cast<std::int64_t>(*v));
    }
    ce::pg::drop_context(memory);
    return p;
}

// ---------------------------------------------------------------------------
// Results.

// The optional priorities argument (NULL: the defaults).
Jsonb* priorities_arg(FunctionCallInfo fcinfo, int n) {
    return PG_ARGISNULL(n) ? nullptr : jsonb_arg(fcinfo, n, "priorities");
}
}  // namespace

// order_operations(ops jsonb, priorities jsonb DEFAULT NULL) RETURNS jsonb
// NULL ops -> NULL; NULL priorities -> the seed's table.
CE_FUNCTION(ce_order_operations) {
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    Jsonb* ops_jb = ops_arg(fcinfo, 0);
    Jsonb* prio_jb = priorities_arg(fcinfo, 1);
    ce::memory::Budget budget = ce::pg::merge_budget();
    ce::memory::Charge kept;
    ce::ops::Priorities priorities = read_priorities(prio_jb, kept);
    std::vector<ce::ops::Operation> ops = read_operations(ops_jb, kept);
    ce::pg::ops::JsonbRawWriter w(&ops_jb->root);
    ce::ops::write_order(w, ops, ce::ops::order_operations(ops, priorities));
    Datum result = w.result();
    ce::ops::release(ops);  // with interrupt checks, which the destructors lack
    return result;
}

// detect_operation_conflicts(ops jsonb, priorities jsonb DEFAULT NULL)
//   RETURNS TABLE(conflict_type, block_id, first_op, second_op, reason, outcome)
CE_FUNCTION(ce_detect_operation_conflicts) {
    if (PG_ARGISNULL(0)) return ce::pg::SetResult(fcinfo).done();  // no rows
    Jsonb* ops_jb = ops_arg(fcinfo, 0);
    Jsonb* prio_jb = priorities_arg(fcinfo, 1);
    ce::memory::Budget budget = ce::pg::merge_budget();
    ce::memory::Charge kept;
    ce::ops::Priorities priorities = read_priorities(prio_jb, kept);
    std::vector<ce::ops::Operation> ops = read_operations(ops_jb, kept);
    std::vector<ce::ops::Conflict> conflicts = ce::ops::detect_conflicts(ops, priorities);
    std::vector<ce::pg::ops::JsonbNode> elements = ce::pg::ops::container_children(&ops_jb->root);
    ce::pg::SetResult result(fcinfo);
    ce::InterruptTicker ticker(256);
    for (const ce::ops::Conflict& c : conflicts) {
        ticker.tick();
        std::vector<Datum> values(6);
        std::vector<char> nulls(6, 0);
        values[0] = ce::pg::text_datum(ce::ops::conflict_type_name(c.type));
        values[1] = ce::pg::text_datum(c.block_id);
        if (c.first == ce::ops::kNoOp) {
            nulls[2] = true;
            values[2] = Datum(0);
        } else {
            values[2] = ce::pg::ops::element_datum(elements, c.first);
        }
        values[3] = ce::pg::ops::element_datum(elements, c.second);
        values[4] = ce::pg::text_datum(c.reason);
        values[5] = ce::pg::text_datum(c.rejected ? "rejected" : "remapped");
        result.add(values, nulls);
    }
    ce::clear_ticking(conflicts, ticker);  // with interrupt checks, which the destructors lack
    ce::ops::release(ops);
    return result.done();
}

// resolve_operations(ops jsonb, policy text DEFAULT 'fail-closed',
//                    priorities jsonb DEFAULT NULL) RETURNS jsonb
// NULL ops or policy -> NULL; NULL priorities -> the seed's table.
CE_FUNCTION(ce_resolve_operations) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
    Jsonb* ops_jb = ops_arg(fcinfo, 0);
    ce::pg::TextArg policy = ce::pg::text_arg(fcinfo, 1, "policy", ce::pg::max_input_bytes());
    Jsonb* prio_jb = priorities_arg(fcinfo, 2);
    ce::ops::Policy p = ce::ops::parse_policy(policy.view());
    ce::memory::Budget budget = ce::pg::merge_budget();
    ce::memory::Charge kept;
    ce::ops::Priorities priorities = read_priorities(prio_jb, kept);
    std::vector<ce::ops::Operation> ops = read_operations(ops_jb, kept);
    ce::ops::Resolution r = ce::ops::resolve_operations(ops, priorities, p);
    ce::pg::ops::JsonbRawWriter w(&ops_jb->root);
    ce::ops::write_resolution(w, ops, r);
    Datum result = w.result();
    ce::ops::release(r);  // with interrupt checks, which the destructors lack
    ce::ops::release(ops);
    return result;
}
