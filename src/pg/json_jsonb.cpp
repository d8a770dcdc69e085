// jsonb <-> ce::json::Value. See json_jsonb.hpp for the boundary discipline.
#include "pg/json_jsonb.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/args.hpp"

namespace ce::pg {

namespace {

// Plain C helpers: no C++ object with a destructor may live in these frames.

void push_token(FlatJsonb& flat, std::size_t& capacity, const JsonbToken& t) {
    if (flat.count == capacity) {
        capacity *= 2;
        flat.tokens = static_cast<JsonbToken*>(repalloc_huge(flat.tokens, capacity * sizeof(JsonbToken)));
    }
    flat.tokens[flat.count++] = t;
}

// numeric_out, through the cache when there is one.
void number_text(Numeric num, NumericTexts* cache, const char** text, int* len) {
    const char* bytes = VARDATA_ANY(num);
    const std::size_t size = VARSIZE_ANY_EXHDR(num);
    int slot = 0;
    if (cache != nullptr) {
        std::uint32_t h = 2166136261u;
        for (std::size_t i = 0; i < size; ++i) h = (h ^ static_cast<unsigned char>(bytes[i])) * 16777619u;
        slot = static_cast<int>(h % NumericTexts::kSlots);
        const Numeric hit = cache->numeric[slot];
        if (hit != nullptr && VARSIZE_ANY_EXHDR(hit) == size && memcmp(VARDATA_ANY(hit), bytes, size) == 0) {
            *text = cache->text[slot];
            *len = cache->len[slot];
            return;
        }
    }
    char* s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
    *text = s;
    *len = static_cast<int>(strlen(s));
    if (cache != nullptr) {
        cache->numeric[slot] = num;
        cache->text[slot] = s;
        cache->len[slot] = *len;
    }
}

JsonbToken scalar_token(const JsonbValue& v, NumericTexts* cache) {
    JsonbToken t{};
    switch (v.type) {
        case jbvNull: t.kind = JsonbToken::null; break;
        case jbvBool:
            t.kind = JsonbToken::boolean;
            t.boolean_value = v.val.boolean;
            break;
        case jbvString:
            t.kind = JsonbToken::string;
            t.str = v.val.string.val;
            t.len = v.val.string.len;
            break;
        case jbvNumeric:
            t.kind = JsonbToken::number;
            t.numeric = v.val.numeric;
            number_text(v.val.numeric, cache, &t.str, &t.len);
            break;
        default:
            elog(ERROR, "unexpected jsonb value type %d", static_cast<int>(v.type));
    }
    return t;
}

}  // namespace

FlatJsonb flatten_jsonb(Jsonb* jb, const char* name, NumericTexts* cache) {
    FlatJsonb flat;
    std::size_t capacity = 64;
    flat.tokens = static_cast<JsonbToken*>(palloc(capacity * sizeof(JsonbToken)));
    JsonbIterator* it = JsonbIteratorInit(&jb->root);
    JsonbValue v;
    JsonbIteratorToken r;
    std::size_t depth = 0;
    bool raw_scalar = false;
    while ((r = JsonbIteratorNext(&it, &v, false)) != WJB_DONE) {
        CHECK_FOR_INTERRUPTS();
        JsonbToken t{};
        switch (r) {
            case WJB_BEGIN_ARRAY:
            case WJB_BEGIN_OBJECT:
                if (r == WJB_BEGIN_ARRAY && v.val.array.rawScalar) {
                    raw_scalar = true;  // a scalar document: [x] in the iterator, x for us
                    continue;
                }
                if (++depth > ce::json::kMaxDepth)
                    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                                    errmsg("argument \"%s\" is nested too deeply", name),
                                    errdetail("It has more than %d levels of arrays and objects; the limit is %d.",
                                              static_cast<int>(ce::json::kMaxDepth),
                                              static_cast<int>(ce::json::kMaxDepth))));
                t.kind = r == WJB_BEGIN_ARRAY ? JsonbToken::begin_array : JsonbToken::begin_object;
                t.len = r == WJB_BEGIN_ARRAY ? v.val.array.nElems : v.val.object.nPairs;  // a size hint
                break;
            case WJB_END_ARRAY:
            case WJB_END_OBJECT:
                if (raw_scalar && depth == 0) continue;
                --depth;
                t.kind = JsonbToken::end;
                break;
            case WJB_KEY:
                t.kind = JsonbToken::key;
                t.str = v.val.string.val;
                t.len = v.val.string.len;
                break;
            case WJB_VALUE:
            case WJB_ELEM:
                t = scalar_token(v, cache);
                break;
            default:
                elog(ERROR, "unexpected jsonb iterator token %d", static_cast<int>(r));
        }
        push_token(flat, capacity, t);
    }
    return flat;
}

Jsonb* jsonb_arg(FunctionCallInfo fcinfo, int n, const char* name, std::size_t max_bytes, bool nullable) {
    if (n >= PG_NARGS() || PG_ARGISNULL(n)) {
        if (!nullable) require_arg(fcinfo, n, name);
        return nullptr;
    }
    // Check the size before detoasting, so an oversized value is never decompressed.
    Datum d = PG_GETARG_DATUM(n);
    Size raw = toast_raw_datum_size(d) - VARHDRSZ;
    if (raw > max_bytes) throw_too_large(name, raw, max_bytes);
    return pg_call([d] { return DatumGetJsonbP(d); });
}

bool same_bytes(const Jsonb* a, const Jsonb* b) {
    return VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0;
}

ce::json::Value to_value(const FlatJsonb& flat, NumericOrigins* origins) {
    ce::json::Builder b;
    for (std::size_t i = 0; i < flat.count; ++i) {
        const JsonbToken& t = flat.tokens[i];
        switch (t.kind) {
            case JsonbToken::begin_array: b.begin_array(static_cast<std::size_t>(std::max(t.len, 0))); break;
            case JsonbToken::begin_object: b.begin_object(static_cast<std::size_t>(std::max(t.len, 0))); break;
            case JsonbToken::end: b.end(); break;
            case JsonbToken::key: b.key(std::string(t.str, static_cast<std::size_t>(t.len))); break;
            case JsonbToken::null: b.add(ce::json::Value()); break;
            case JsonbToken::boolean: b.add(ce::json::Value::boolean(t.boolean_value)); break;
            case JsonbToken::number: {
                ce::json::Value n = ce::json::Value::number(std::string_view(t.str, static_cast<std::size_t>(t.len)));
                if (origins != nullptr) origins->add(&n.text(), t.numeric);
                b.add(std::move(n));
                break;
            }
            case JsonbToken::string:
                b.add(ce::json::Value::string(std::string(t.str, static_cast<std::size_t>(t.len))));
                break;
        }
    }
    return b.take();
}

namespace {

// Tokens of a Value for pushJsonbValue; `str` points into the Value's own strings.
void collect(const ce::json::Value& v, const NumericOrigins* origins, std::vector<JsonbToken>& out) {
    JsonbToken t{};
    switch (v.kind()) {
        case ce::json::Kind::null: t.kind = JsonbToken::null; break;
        case ce::json::Kind::boolean:
            t.kind = JsonbToken::boolean;
            t.boolean_value = v.as_bool();
            break;
        case ce::json::Kind::number:
        case ce::json::Kind::string:
            if (v.text().size() > static_cast<std::size_t>(JENTRY_OFFLENMASK))
                throw SqlError(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "string too long to represent as jsonb string");
            t.kind = v.is_number() ? JsonbToken::number : JsonbToken::string;
            t.str = v.text().c_str();  // NUL-terminated, as numeric_in needs
            t.len = static_cast<int>(v.text().size());
            if (v.is_number() && origins != nullptr) t.numeric = origins->find(&v.text());
            break;
        case ce::json::Kind::array:
            out.push_back(JsonbToken{JsonbToken::begin_array, false, 0, nullptr, nullptr});
            for (const ce::json::Value& e : v.items()) collect(e, origins, out);
            out.push_back(JsonbToken{JsonbToken::end, false, 0, nullptr, nullptr});
            return;
        case ce::json::Kind::object:
            out.push_back(JsonbToken{JsonbToken::begin_object, false, 0, nullptr, nullptr});
            for (const ce::json::Member& m : v.members()) {
                if (m.key.size() > static_cast<std::size_t>(JENTRY_OFFLENMASK))
                    throw SqlError(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "string too long to represent as jsonb string");
                out.push_back(
                    JsonbToken{JsonbToken::key, false, static_cast<int>(m.key.size()), m.key.c_str(), nullptr});
                collect(m.value, origins, out);
            }
            out.push_back(JsonbToken{JsonbToken::end, false, 0, nullptr, nullptr});
            return;
    }
    out.push_back(t);
}

// Plain C: pushes the tokens and returns the jsonb. Runs inside pg_call().
Jsonb* build_jsonb(const JsonbToken* tokens, std::size_t count, bool raw_scalar) {
    JsonbParseState* state = nullptr;
    JsonbValue* result = nullptr;
    if (raw_scalar) {
        JsonbValue a;
        a.type = jbvArray;
        a.val.array.rawScalar = true;
        a.val.array.nElems = 1;
        a.val.array.elems = nullptr;
        pushJsonbValue(&state, WJB_BEGIN_ARRAY, &a);
    }
    for (std::size_t i = 0; i < count; ++i) {
        CHECK_FOR_INTERRUPTS();
        const JsonbToken& t = tokens[i];
        const bool in_object = state != nullptr && state->contVal.type == jbvObject;
        JsonbValue s;
        switch (t.kind) {
            case JsonbToken::begin_array: result = pushJsonbValue(&state, WJB_BEGIN_ARRAY, nullptr); continue;
            case JsonbToken::begin_object: result = pushJsonbValue(&state, WJB_BEGIN_OBJECT, nullptr); continue;
            case JsonbToken::end:
                result = pushJsonbValue(&state, in_object ? WJB_END_OBJECT : WJB_END_ARRAY, nullptr);
                continue;
            case JsonbToken::key:
                s.type = jbvString;
                s.val.string.val = const_cast<char*>(t.str);
                s.val.string.len = t.len;
                result = pushJsonbValue(&state, WJB_KEY, &s);
                continue;
            case JsonbToken::null: s.type = jbvNull; break;
            case JsonbToken::boolean:
                s.type = jbvBool;
                s.val.boolean = t.boolean_value;
                break;
            case JsonbToken::number:
                s.type = jbvNumeric;
                s.val.numeric = t.numeric != nullptr
                                    ? t.numeric
                                    : DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(t.str),
                                                                          ObjectIdGetDatum(InvalidOid),
                                                                          Int32GetDatum(-1)));
                break;
            case JsonbToken::string:
                s.type = jbvString;
                s.val.string.val = const_cast<char*>(t.str);
                s.val.string.len = t.len;
                break;
        }
        result = pushJsonbValue(&state, in_object ? WJB_VALUE : WJB_ELEM, &s);
    }
    if (raw_scalar) result = pushJsonbValue(&state, WJB_END_ARRAY, nullptr);
    return JsonbValueToJsonb(result);
}

}  // namespace

Numeric NumericOrigins::find(const std::string* text) const {
    auto less = [](const Entry& a, const Entry& b) { return std::less<const std::string*>()(a.text, b.text); };
    if (!sorted_) {
        std::sort(entries_.begin(), entries_.end(), less);
        sorted_ = true;
    }
    auto it = std::lower_bound(entries_.begin(), entries_.end(), Entry{text, nullptr}, less);
    return it != entries_.end() && it->text == text ? it->numeric : nullptr;
}

Datum jsonb_datum(const ce::json::Value& v, const NumericOrigins* origins) {
    std::vector<JsonbToken> tokens;
    tokens.reserve(256);
    collect(v, origins, tokens);
    const JsonbToken* data = tokens.data();
    const std::size_t count = tokens.size();
    const bool raw_scalar = !v.is_container();
    return pg_call([data, count, raw_scalar] { return JsonbPGetDatum(build_jsonb(data, count, raw_scalar)); });
}

}  // namespace ce::pg
