// SQL glue of the vclock type: I/O, functions, operators, hash support and the
// selectivity estimator. The algorithms live in the core (concurrent_edit/vclock.hpp).
//
// A stored vclock is a varlena whose payload is the core's canonical encoding, so
// comparisons read the (detoasted, possibly short-header) bytes in place through a
// ce::VClockView, without allocating, and equality and hashing work on the bytes.
// Node ids are UTF-8 inside a vclock; in a database with another encoding the glue
// converts node ids on the way in and out.
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/vclock.hpp"
#include "pg/args.hpp"
#include "pg/guc.hpp"
#include "pg/vclock.hpp"

namespace ce::pg {

// A vclock Datum holding `encoded` (the core's canonical encoding).
Datum vclock_datum(std::string_view encoded) {
    const char* p = encoded.data();
    std::size_t len = encoded.size();
    return pg_call([p, len] {
        auto* v = static_cast<struct varlena*>(palloc(VARHDRSZ + len));
        SET_VARSIZE(v, VARHDRSZ + len);
        memcpy(VARDATA(v), p, len);
        return PointerGetDatum(v);
    });
}
}  // namespace ce::pg

using ce::pg::vclock_datum;

namespace {

// A vclock argument: the payload of the detoasted varlena (no copy when it was not
// toasted). Plain data, read in step 1.
struct VClockArg {
    struct varlena* value;
    const char* data;
    std::size_t len;
    ce::VClockView view() const { return ce::VClockView(std::string_view(data, len)); }
    Datum datum() const { return PointerGetDatum(value); }
};

VClockArg vclock_arg(FunctionCallInfo fcinfo, int n) {
    struct varlena* v = ce::pg::detoast_packed(PG_GETARG_DATUM(n));
    return {v, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v)};
}

bool utf8_database() { return GetDatabaseEncoding() == PG_UTF8; }

// In a SQL_ASCII database, where PostgreSQL checks no text, text to convert to
// UTF-8 for the core that is not UTF-8 is refused here (22021 with the offset of
// the first bad byte), not by the conversion's check (22021 without a DETAIL,
// its message echoing the bytes). Other encodings were checked on input.
void check_sql_ascii_text(const char* text, std::size_t len, const char* argument) {
    if (GetDatabaseEncoding() != PG_SQL_ASCII) return;
    int valid = ce::pg::pg_call([text, len] { return pg_encoding_verifymbstr(PG_UTF8, text, static_cast<int>(len)); });
    if (valid < 0 || static_cast<std::size_t>(valid) < len)
        throw ce::pg::SqlError(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE, std::string(argument) + " is not valid UTF-8",
                               ce::Detail()
                                   .add("argument", argument)
                                   .add("encoding", "SQL_ASCII")
                                   .add("byte_offset", valid < 0 ? 0 : valid),
                               "Node ids are UTF-8: in a SQL_ASCII database, give them as UTF-8 bytes.");
}

// A node id argument, converted to UTF-8.
ce::pg::TextArg node_arg(FunctionCallInfo fcinfo, int n) {
    // In UTF-8 databases the byte limit is the node id limit itself; elsewhere the
    // core checks the converted length.
    ce::pg::TextArg node = ce::pg::text_arg(fcinfo, n, "node",
                                            utf8_database() ? ce::kVClockMaxNodeBytes : 4 * ce::kVClockMaxNodeBytes);
    if (!utf8_database()) {
        check_sql_ascii_text(node.data, node.len, "node");
        char* converted = ce::pg::pg_call([&node] { return pg_server_to_any(node.data, static_cast<int>(node.len), PG_UTF8); });
        if (converted != node.data) {
            node.data = converted;
            node.len = strlen(converted);
        }
    }
    return node;
}

// palloc'd server-encoding copy of UTF-8 bytes (NUL-terminated). Call inside pg_call.
char* utf8_to_server(const char* p, std::size_t len) {
    char* s = static_cast<char*>(palloc(len + 1));
    memcpy(s, p, len);
    s[len] = '\0';
    if (!utf8_database()) s = pg_any_to_server(s, static_cast<int>(len), PG_UTF8);
    return s;
}

// In a database that is not UTF-8, a clock read in must be printable:
// every node id needs a form in the database encoding (vclock_out, pg_dump), or
// the value would be stored and never read back. 22P05 otherwise, nothing stored.
void check_nodes_convertible(std::string_view bytes) {
    int enc = ce::pg::pg_call([] { return GetDatabaseEncoding(); });
    if (enc == PG_UTF8 || enc == PG_SQL_ASCII) return;
    Oid proc = ce::pg::pg_call([enc] { return FindDefaultConversionProc(PG_UTF8, enc); });
    std::size_t entry = 0;
    for (ce::VClockView::Cursor c = ce::VClockView(bytes).cursor(); !c.done(); c.next()) {
        ++entry;
        std::string_view node = c.node();
        bool ok = ce::pg::pg_call([proc, enc, node] {
            if (!OidIsValid(proc)) return false;
            int n = static_cast<int>(node.size());
            auto* out = static_cast<unsigned char*>(palloc(static_cast<std::size_t>(n) * MAX_CONVERSION_GROWTH + 1));
            int done = pg_do_encoding_conversion_buf(proc, PG_UTF8, enc,
                                                     reinterpret_cast<unsigned char*>(const_cast<char*>(node.data())), n,
                                                     out, n * MAX_CONVERSION_GROWTH + 1, true);
            pfree(out);
            return done == n;
        });
        if (!ok)
            throw ce::pg::SqlError(ERRCODE_UNTRANSLATABLE_CHARACTER,
                                   "a vclock node id has no equivalent in the database encoding",
                                   ce::Detail().add("entry", entry).add("encoding", ce::pg::pg_call([enc] { return pg_encoding_to_char(enc); })),
                                   "Node ids of clocks stored in this database must be representable in its encoding.");
    }
}

// A vclock Datum from its binary form, validated strictly.
Datum vclock_from_binary(const char* data, std::size_t len) {
    std::string_view bytes(data, len);
    ce::VClock::decode(bytes);  // validates; the bytes are then canonical
    check_nodes_convertible(bytes);
    return vclock_datum(bytes);
}

// text[] of UTF-8 node ids.
Datum text_array_datum(const std::vector<std::string_view>& items) {
    const std::string_view* p = items.data();
    int n = static_cast<int>(items.size());
    return ce::pg::pg_call([p, n] {
        Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
        for (int i = 0; i < n; ++i) {
            char* s = utf8_to_server(p[i].data(), p[i].size());
            elems[i] = PointerGetDatum(cstring_to_text(s));
        }
        return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
    });
}

// The five relation operators share one shape.
template <typename Pred>
Datum relation_test(FunctionCallInfo fcinfo, Pred pred) {
    VClockArg a = vclock_arg(fcinfo, 0);
    VClockArg b = vclock_arg(fcinfo, 1);
    return BoolGetDatum(pred(ce::compare(a.view(), b.view())));
}

bool same_bytes(const VClockArg& a, const VClockArg& b) {
    return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}
}  // namespace

// ---------------------------------------------------------------------------
// I/O

// vclock_in(cstring) RETURNS vclock
CE_FUNCTION(ce_vclock_in) {
    const char* text = PG_GETARG_CSTRING(0);
    std::size_t len = strlen(text);
    if (len > ce::pg::max_input_bytes()) ce::pg::throw_too_large("vclock input", len, ce::pg::max_input_bytes());
    if (!utf8_database()) {
        check_sql_ascii_text(text, len, "vclock input");
        text = ce::pg::pg_call([text, len] { return pg_server_to_any(text, static_cast<int>(len), PG_UTF8); });
        len = strlen(text);
    }
    // A \u escape names any character: each node id must have a form in the
    // database encoding too, as a binary clock's must.
    std::string bytes = ce::VClock::parse(std::string_view(text, len)).encode();
    check_nodes_convertible(bytes);
    return vclock_datum(bytes);
}

// vclock_out(vclock) RETURNS cstring: the canonical text form.
CE_FUNCTION(ce_vclock_out) {
    VClockArg a = vclock_arg(fcinfo, 0);
    std::string text = ce::VClock::from_view(a.view()).to_text();
    const char* p = text.data();
    std::size_t len = text.size();
    return ce::pg::pg_call([p, len] { return CStringGetDatum(utf8_to_server(p, len)); });
}

// vclock_recv(internal) RETURNS vclock: the wire format is the storage encoding,
// validated strictly (22P03 for anything vclock_send could not have produced).
CE_FUNCTION(ce_vclock_recv) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    const char* data = buf->data + buf->cursor;
    std::size_t len = static_cast<std::size_t>(buf->len - buf->cursor);
    buf->cursor = buf->len;
    return vclock_from_binary(data, len);
}

// vclock_recv(bytea) RETURNS vclock: the same for a binary value held in SQL.
CE_FUNCTION(ce_vclock_recv_bytea) {
    struct varlena* v = ce::pg::detoast_packed(PG_GETARG_DATUM(0));
    const char* data = VARDATA_ANY(v);
    std::size_t len = VARSIZE_ANY_EXHDR(v);
    return vclock_from_binary(data, len);
}

// vclock_send(vclock) RETURNS bytea
CE_FUNCTION(ce_vclock_send) {
    VClockArg a = vclock_arg(fcinfo, 0);
    const char* p = a.data;
    std::size_t len = a.len;
    return ce::pg::pg_call([p, len] {
        auto* v = static_cast<bytea*>(palloc(VARHDRSZ + len));
        SET_VARSIZE(v, VARHDRSZ + len);
        memcpy(VARDATA(v), p, len);
        return PointerGetDatum(v);
    });
}

// ---------------------------------------------------------------------------
// Functions

// vclock_increment(clock vclock, node text) RETURNS vclock
CE_FUNCTION(ce_vclock_increment) {
    VClockArg a = vclock_arg(fcinfo, 0);
    ce::pg::TextArg node = node_arg(fcinfo, 1);
    ce::VClock clock = ce::VClock::from_view(a.view());
    clock.increment(node.view());
    return vclock_datum(clock.encode());
}

// vclock_merge(a vclock, b vclock) RETURNS vclock: pointwise maximum. When one
// argument dominates the other it is returned as is (no allocation), which keeps
// vclock_merge_agg cheap.
CE_FUNCTION(ce_vclock_merge) {
    VClockArg a = vclock_arg(fcinfo, 0);
    VClockArg b = vclock_arg(fcinfo, 1);
    switch (ce::compare(a.view(), b.view())) {
        case ce::Relation::after:
        case ce::Relation::equal: return a.datum();
        case ce::Relation::before: return b.datum();
        case ce::Relation::concurrent: break;
    }
    return vclock_datum(ce::merge_encoded(a.view(), b.view()));
}

// vclock_compare(a vclock, b vclock) RETURNS text
CE_FUNCTION(ce_vclock_compare) {
    VClockArg a = vclock_arg(fcinfo, 0);
    VClockArg b = vclock_arg(fcinfo, 1);
    return ce::pg::text_datum(ce::relation_name(ce::compare(a.view(), b.view())));
}

// vclock_divergent_nodes(a vclock, b vclock) RETURNS text[]
CE_FUNCTION(ce_vclock_divergent_nodes) {
    VClockArg a = vclock_arg(fcinfo, 0);
    VClockArg b = vclock_arg(fcinfo, 1);
    return text_array_datum(ce::divergent_nodes(a.view(), b.view()));
}

// vclock_prune(clock vclock, max_entries integer) RETURNS vclock
CE_FUNCTION(ce_vclock_prune) {
    VClockArg a = vclock_arg(fcinfo, 0);
    int32 max_entries = ce::pg::int4_arg(fcinfo, 1, "max_entries");
    if (max_entries < 0)
        throw ce::pg::SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "max_entries must not be negative",
                               ce::Detail().add("argument", "max_entries").add("value", max_entries));
    ce::VClockView view = a.view();
    if (view.size() <= static_cast<std::size_t>(max_entries)) return a.datum();
    return vclock_datum(ce::VClock::from_view(view).pruned(static_cast<std::size_t>(max_entries)).encode());
}

// vclock_get(clock vclock, node text) RETURNS bigint: 0 for an absent node.
CE_FUNCTION(ce_vclock_get) {
    VClockArg a = vclock_arg(fcinfo, 0);
    ce::pg::TextArg node = node_arg(fcinfo, 1);
    ce::check_vclock_node(node.view());
    return Int64GetDatum(static_cast<int64>(a.view().get(node.view())));
}

// vclock_nodes(clock vclock) RETURNS text[]
CE_FUNCTION(ce_vclock_nodes) {
    VClockArg a = vclock_arg(fcinfo, 0);
    std::vector<std::string_view> nodes;
    for (auto c = a.view().cursor(); !c.done(); c.next()) nodes.push_back(c.node());
    return text_array_datum(nodes);
}

// ---------------------------------------------------------------------------
// Operators

CE_FUNCTION(ce_vclock_lt) {
    return relation_test(fcinfo, [](ce::Relation r) { return r == ce::Relation::before; });
}
CE_FUNCTION(ce_vclock_gt) {
    return relation_test(fcinfo, [](ce::Relation r) { return r == ce::Relation::after; });
}
CE_FUNCTION(ce_vclock_le) {
    return relation_test(fcinfo, [](ce::Relation r) { return r == ce::Relation::before || r == ce::Relation::equal; });
}
CE_FUNCTION(ce_vclock_ge) {
    return relation_test(fcinfo, [](ce::Relation r) { return ce::dominates(r); });
}
CE_FUNCTION(ce_vclock_concurrent) {
    return relation_test(fcinfo, [](ce::Relation r) { return r == ce::Relation::concurrent; });
}

// Equality is byte equality: the encoding is canonical.
CE_FUNCTION(ce_vclock_eq) {
    VClockArg a = vclock_arg(fcinfo, 0);
    VClockArg b = vclock_arg(fcinfo, 1);
    return BoolGetDatum(same_bytes(a, b));
}
CE_FUNCTION(ce_vclock_ne) {
    VClockArg a = vclock_arg(fcinfo, 0);
    VClockArg b = vclock_arg(fcinfo, 1);
    return BoolGetDatum(!same_bytes(a, b));
}

// Hash support (hash opclass): hashes of the canonical bytes.
CE_FUNCTION(ce_vclock_hash) {
    VClockArg a = vclock_arg(fcinfo, 0);
    return ce::pg::pg_call([&] { return hash_any(reinterpret_cast<const unsigned char*>(a.data), static_cast<int>(a.len)); });
}
CE_FUNCTION(ce_vclock_hash_extended) {
    VClockArg a = vclock_arg(fcinfo, 0);
    uint64 seed = static_cast<uint64>(PG_GETARG_INT64(1));
    return ce::pg::pg_call([&] {
        return hash_any_extended(reinterpret_cast<const unsigned char*>(a.data), static_cast<int>(a.len), seed);
    });
}

// Restriction selectivity of <, >, <=, >= and ||: the operator applied to the most
// common values and histogram of the column (generic_restriction_selectivity), and
// DEFAULT_INEQ_SEL for the rest or without statistics.
CE_FUNCTION(ce_vclock_sel) {
    auto* root = reinterpret_cast<PlannerInfo*>(PG_GETARG_POINTER(0));
    Oid op = PG_GETARG_OID(1);
    auto* args = reinterpret_cast<List*>(PG_GETARG_POINTER(2));
    int var_relid = PG_GETARG_INT32(3);
    Oid collation = PG_GET_COLLATION();
    return ce::pg::pg_call([&] {
        return Float8GetDatum(
            generic_restriction_selectivity(root, op, collation, args, var_relid, DEFAULT_INEQ_SEL));
    });
}
