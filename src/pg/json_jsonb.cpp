// jsonb <-> ce::json::Value on jsonb's binary layout. See json_jsonb.hpp.
#include "pg/json_jsonb.hpp"

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/memory.hpp"
#include "pg/args.hpp"
#include "pg/jsonb_layout.hpp"
#include "pg/values.hpp"

namespace ce::pg {

namespace {

using ce::json::Value;

// Direct-mapped cache numeric bytes -> numeric_out text (plain data, in the reader's
// scratch context).
struct NumericTexts {
    static constexpr int kSlots = 512;
    Numeric numeric[kSlots];
    const char* text[kSlots];
    int len[kSlots];
};

// Plain C, inside pg_call(): numeric_out through the cache.
void number_text(Numeric num, NumericTexts* cache, const char** text, int* len) {
    const char* bytes = VARDATA_ANY(num);
    const std::size_t size = VARSIZE_ANY_EXHDR(num);
    std::uint32_t h = 2166136261u;
    for (std::size_t i = 0; i < size; ++i) h = (h ^ static_cast<unsigned char>(bytes[i])) * 16777619u;
    const int slot = static_cast<int>(h % NumericTexts::kSlots);
    const Numeric hit = cache->numeric[slot];
    if (hit != nullptr && VARSIZE_ANY_EXHDR(hit) == size && memcmp(VARDATA_ANY(hit), bytes, size) == 0) {
        *text = cache->text[slot];
        *len = cache->len[slot];
        return;
    }
    char* s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
    *text = s;
    *len = static_cast<int>(strlen(s));
    cache->numeric[slot] = num;
    cache->text[slot] = s;
    cache->len[slot] = *len;
}

class Reader {
public:
    Reader(const char* name, const ce::json::Interner* interner) : name_(name), interner_(interner) {
        scratch_ = pg_call([] {
            return AllocSetContextCreate(CurrentMemoryContext, "concurrent_edit jsonb reading", ALLOCSET_DEFAULT_SIZES);
        });
    }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    Value read(const Jsonb* jb) {
        const JsonbContainer* root = &jb->root;
        Value v;
        if (JsonContainerIsScalar(root))
            jsonb::for_each_child(root, [&](std::uint32_t, const jsonb::Child& c) { v = child(c, 0); });
        else
            v = container(root, 1);
        MemoryContext scratch = scratch_;
        pg_call([scratch] { MemoryContextDelete(scratch); });
        return v;
    }

private:
    Value container(const JsonbContainer* c, std::size_t depth) {
        if (depth > ce::json::kMaxDepth)
            throw SqlError(ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                           std::string("argument \"") + name_ + "\" is nested too deeply",
                           "{\"argument\": \"" + std::string(name_) + "\", \"max_depth\": " +
                               std::to_string(ce::json::kMaxDepth) + "}");
        const std::uint32_t n = JsonContainerSize(c);
        Value v;
        if (JsonContainerIsObject(c)) {
            std::vector<ce::json::Member> members(n);
            jsonb::for_each_child(c, [&](std::uint32_t i, const jsonb::Child& ch) {
                if (i < n) members[i].key.assign(ch.data, ch.len);
                else members[i - n].value = child(ch, depth);
            });
            v = Value::object(std::move(members));
        } else {
            std::vector<Value> items;
            items.reserve(n);
            jsonb::for_each_child(c, [&](std::uint32_t, const jsonb::Child& ch) { items.push_back(child(ch, depth)); });
            v = Value::array(std::move(items));
        }
        return interner_ != nullptr ? interner_->intern(std::move(v)) : v;
    }

    Value child(const jsonb::Child& c, std::size_t depth) {
        ticker_.tick();
        switch (c.type) {
            case JENTRY_ISSTRING: return Value::string(std::string(c.data, c.len));
            case JENTRY_ISNUMERIC: return number(reinterpret_cast<Numeric>(const_cast<char*>(c.data)));
            case JENTRY_ISBOOL_FALSE: return Value::boolean(false);
            case JENTRY_ISBOOL_TRUE: return Value::boolean(true);
            case JENTRY_ISNULL: return Value();
            case JENTRY_ISCONTAINER:
                return container(reinterpret_cast<const JsonbContainer*>(c.data), depth + 1);
            default:
                throw SqlError(ERRCODE_DATA_CORRUPTED, "jsonb value has an unknown entry type",
                               "{\"argument\": \"" + std::string(name_) + "\"}");
        }
    }

    Value number(Numeric num) {
        // The texts live in the scratch context, reset every few thousand numbers.
        if (cache_ == nullptr || ++converted_ % 8192 == 0) {
            MemoryContext scratch = scratch_;
            cache_ = pg_call([scratch] {
                MemoryContextReset(scratch);
                return static_cast<NumericTexts*>(MemoryContextAllocZero(scratch, sizeof(NumericTexts)));
            });
        }
        const char* text = nullptr;
        int len = 0;
        NumericTexts* cache = cache_;
        MemoryContext scratch = scratch_;
        pg_call([num, cache, scratch, &text, &len] {
            MemoryContext old = MemoryContextSwitchTo(scratch);
            number_text(num, cache, &text, &len);
            MemoryContextSwitchTo(old);
        });
        return Value::number(std::string_view(text, static_cast<std::size_t>(len)), num);
    }

    const char* name_;
    const ce::json::Interner* interner_;
    MemoryContext scratch_ = nullptr;
    NumericTexts* cache_ = nullptr;
    std::size_t converted_ = 0;
    ce::InterruptTicker ticker_{4096};
};

class Writer {
public:
    Datum write(const Value& v) {
        std::uint64_t size;
        if (v.is_container()) {
            size = measure(v);
        } else {
            size = 8 + scalar_size(v);  // header, one JEntry, the scalar (aligned already)
        }
        if (size > MaxAllocSize - VARHDRSZ) jsonb::too_large("the value");
        ce::memory::Charge output(ce::memory::malloc_size(VARHDRSZ + size));
        auto* jb = pg_call([size] { return static_cast<Jsonb*>(palloc(VARHDRSZ + size)); });
        SET_VARSIZE(jb, VARHDRSZ + size);
        next_numeric_ = 0;
        char* out = VARDATA(jb);
        if (v.is_container()) {
            write_container(v, out);
        } else {
            const std::uint32_t header = 1 | JB_FSCALAR | JB_FARRAY;
            memcpy(out, &header, 4);
            std::uint32_t off = 0;
            put(v, out + 8, off, out + 4, 0);
        }
        return JsonbPGetDatum(jb);
    }

private:
    // The data size of a scalar (no padding); converts numbers without an origin.
    std::uint64_t scalar_size(const Value& v) {
        switch (v.kind()) {
            case ce::json::Kind::string:
                if (v.text().size() > JENTRY_OFFLENMASK) jsonb::too_large("a string this long");
                return v.text().size();
            case ce::json::Kind::number: {
                Numeric num = static_cast<Numeric>(const_cast<void*>(v.origin()));
                if (num == nullptr) {
                    const char* text = v.text().c_str();
                    num = pg_call([text] {
                        return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(text),
                                                                   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
                    });
                    converted_.push_back(num);
                }
                return VARSIZE_ANY(num);
            }
            default: return 0;
        }
    }

    // The size of a container laid out at a 4-byte aligned position.
    std::uint64_t measure(const Value& v) {
        ticker_.tick();
        const bool object = v.is_object();
        const std::size_t n = object ? v.members().size() : v.items().size();
        if (n > JB_CMASK) jsonb::too_large("this many elements");
        std::uint64_t off = 0;
        auto add = [&](const Value& c) {
            if (c.is_container()) off = jsonb::align4(off) + measure(c);
            else if (c.is_number()) off = jsonb::align4(off) + scalar_size(c);
            else off += scalar_size(c);
            if (off > JENTRY_OFFLENMASK) jsonb::too_large("this much data in one array or object");
        };
        if (object) {
            for (const ce::json::Member& m : v.members()) {
                if (m.key.size() > JENTRY_OFFLENMASK) jsonb::too_large("a key this long");
                off += m.key.size();
                if (off > JENTRY_OFFLENMASK) jsonb::too_large("this much data in one array or object");
            }
            for (const ce::json::Member& m : v.members()) add(m.value);
        } else {
            for (const Value& e : v.items()) add(e);
        }
        return 4 + 4 * static_cast<std::uint64_t>(object ? 2 * n : n) + off;
    }

    // Writes child `i` (data at data + off, its JEntry at `entries`) and advances off.
    void put(const Value& c, char* data, std::uint32_t& off, char* entries, std::size_t i) {
        const std::uint32_t start = off;
        std::uint32_t type = JENTRY_ISNULL;
        auto pad = [&] {
            const auto aligned = static_cast<std::uint32_t>(jsonb::align4(off));
            memset(data + off, 0, aligned - off);
            off = aligned;
        };
        switch (c.kind()) {
            case ce::json::Kind::null: break;
            case ce::json::Kind::boolean: type = c.as_bool() ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE; break;
            case ce::json::Kind::string:
                type = JENTRY_ISSTRING;
                memcpy(data + off, c.text().data(), c.text().size());
                off += static_cast<std::uint32_t>(c.text().size());
                break;
            case ce::json::Kind::number: {
                type = JENTRY_ISNUMERIC;
                pad();
                Numeric num = static_cast<Numeric>(const_cast<void*>(c.origin()));
                if (num == nullptr) num = converted_[next_numeric_++];
                memcpy(data + off, num, VARSIZE_ANY(num));
                off += static_cast<std::uint32_t>(VARSIZE_ANY(num));
                break;
            }
            case ce::json::Kind::array:
            case ce::json::Kind::object:
                type = JENTRY_ISCONTAINER;
                pad();
                off += write_container(c, data + off);
                break;
        }
        const std::uint32_t meta = jsonb::entry(type, i, start, off);
        memcpy(entries + 4 * i, &meta, 4);
    }

    std::uint32_t write_container(const Value& v, char* out) {
        ticker_.tick();
        const bool object = v.is_object();
        const std::size_t n = object ? v.members().size() : v.items().size();
        const std::size_t count = object ? 2 * n : n;
        const std::uint32_t header = static_cast<std::uint32_t>(n) | (object ? JB_FOBJECT : JB_FARRAY);
        memcpy(out, &header, 4);
        char* entries = out + 4;
        char* data = entries + 4 * count;
        std::uint32_t off = 0;
        std::size_t i = 0;
        if (object) {
            for (const ce::json::Member& m : v.members()) {
                const std::uint32_t start = off;
                memcpy(data + off, m.key.data(), m.key.size());
                off += static_cast<std::uint32_t>(m.key.size());
                const std::uint32_t meta = jsonb::entry(JENTRY_ISSTRING, i, start, off);
                memcpy(entries + 4 * i++, &meta, 4);
            }
            for (const ce::json::Member& m : v.members()) put(m.value, data, off, entries, i++);
        } else {
            for (const Value& e : v.items()) put(e, data, off, entries, i++);
        }
        return static_cast<std::uint32_t>(4 + 4 * count + off);
    }

    std::vector<Numeric> converted_;  // numbers without an origin, in traversal order
    std::size_t next_numeric_ = 0;
    ce::InterruptTicker ticker_{4096};
};

}  // namespace

namespace jsonb {

void too_large(const char* what) {
    throw SqlError(ERRCODE_PROGRAM_LIMIT_EXCEEDED, std::string("jsonb cannot hold ") + what,
                   "{\"limit_bytes\": " + std::to_string(JENTRY_OFFLENMASK) + "}",
                   "A jsonb array or object holds at most 268435455 bytes of data.");
}

}  // namespace jsonb

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

Value jsonb_to_value(const Jsonb* jb, const char* name, const ce::json::Interner* interner) {
    return Reader(name, interner).read(jb);
}

Datum jsonb_datum(const Value& v) { return Writer().write(v); }

Datum utf8_json_datum(const std::string& json) {
    if (GetDatabaseEncoding() == PG_UTF8) return jsonb_datum(ce::json::parse(json));
    const std::string text = utf8_to_server(json);
    return pg_call([&text] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text.c_str())); });
}

}  // namespace ce::pg
