// jsonb binary output of the operation functions (see ops_jsonb.hpp).
#include "pg/ops_jsonb.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace ce::pg::ops {

namespace {

bool aligned_type(std::uint32_t type) { return type == JENTRY_ISNUMERIC || type == JENTRY_ISCONTAINER; }

void put_u32(std::string& out, std::size_t at, std::uint32_t v) { memcpy(&out[at], &v, sizeof(v)); }

[[noreturn]] void too_large() {
    throw SqlError(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "result of the operation function is too large",
                   "A jsonb container holds at most 268435455 bytes.");
}

}  // namespace

std::vector<JsonbChild> container_children(const JsonbContainer* c) {
    const std::uint32_t n = JsonContainerSize(c);
    const std::uint32_t count = JsonContainerIsObject(c) ? 2 * n : n;
    const char* base = reinterpret_cast<const char*>(&c->children[count]);
    std::vector<JsonbChild> out(count);
    std::uint32_t offset = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        const JEntry e = c->children[i];
        const std::uint32_t end = JBE_HAS_OFF(e) ? JBE_OFFLENFLD(e) : offset + JBE_OFFLENFLD(e);
        JsonbChild& ch = out[i];
        ch.type = e & JENTRY_TYPEMASK;
        std::uint32_t start = aligned_type(ch.type) ? INTALIGN(offset) : offset;
        ch.data = base + start;
        ch.len = end - start;
        offset = end;
    }
    return out;
}

JsonbRawWriter::JsonbRawWriter(const JsonbContainer* input) : elements_(container_children(input)) {}

void JsonbRawWriter::add(JsonbChild v) {
    if (stack_.empty()) {
        done_ = std::move(v);
        return;
    }
    stack_.back().values.push_back(std::move(v));
}

void JsonbRawWriter::string(std::string_view s) {
    JsonbChild v;
    v.type = JENTRY_ISSTRING;
    v.own = true;
    v.owned.assign(s.data(), s.size());
    add(std::move(v));
}

void JsonbRawWriter::number(std::int64_t x) {
    JsonbChild v;
    v.type = JENTRY_ISNUMERIC;
    v.own = true;
    Numeric num = pg_call([x] { return int64_to_numeric(x); });
    v.owned.assign(reinterpret_cast<const char*>(num), VARSIZE_ANY(num));
    add(std::move(v));
}

void JsonbRawWriter::null() { add(JsonbChild{}); }

void JsonbRawWriter::operation(const std::vector<ce::ops::Operation>&, std::size_t index,
                               const ce::ops::AppliedOp* mapped) {
    ticker_.tick();
    const JsonbChild& element = elements_.at(index);
    if (mapped == nullptr || (!mapped->block_id && !mapped->offset && !mapped->target_block_id)) {
        add(element);  // points into the input: no copy until serialized
        return;
    }
    // The object's members, then the mapped ones (a later duplicate key wins).
    auto* obj = reinterpret_cast<const JsonbContainer*>(element.data);
    std::vector<JsonbChild> children = container_children(obj);
    const std::size_t n = children.size() / 2;
    begin_object();
    for (std::size_t i = 0; i < n; ++i) {
        key(children[i].bytes());
        add(std::move(children[n + i]));
    }
    if (mapped->block_id) {
        key("mappedBlockId");
        string(*mapped->block_id);
    }
    if (mapped->offset) {
        key("mappedOffset");
        number(*mapped->offset);
    }
    if (mapped->target_block_id) {
        key("mappedTargetBlockId");
        string(*mapped->target_block_id);
    }
    end_object();
}

void JsonbRawWriter::end() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    JsonbChild v;
    v.type = JENTRY_ISCONTAINER;
    v.own = true;
    v.owned = serialize(f);
    add(std::move(v));
}

// A container as jsonb lays it out (convertJsonbArray / convertJsonbObject), for a
// start at a 4-byte aligned position: object keys sorted by length, then bytes,
// without duplicates (the last one wins).
std::string JsonbRawWriter::serialize(Frame& f) {
    std::vector<const JsonbChild*> children;
    std::vector<JsonbChild> keys;
    std::size_t count;
    std::uint32_t header;
    if (f.object) {
        std::vector<std::size_t> order(f.keys.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            const std::string& x = f.keys[a];
            const std::string& y = f.keys[b];
            return x.size() != y.size() ? x.size() < y.size() : x < y;
        });
        std::vector<std::size_t> unique;
        for (std::size_t k = 0; k < order.size(); ++k) {
            if (!unique.empty() && f.keys[unique.back()] == f.keys[order[k]]) unique.back() = order[k];
            else unique.push_back(order[k]);
        }
        keys.resize(unique.size());
        for (std::size_t k = 0; k < unique.size(); ++k) {
            keys[k].type = JENTRY_ISSTRING;
            keys[k].data = f.keys[unique[k]].data();
            keys[k].len = f.keys[unique[k]].size();
        }
        for (const JsonbChild& k : keys) children.push_back(&k);
        for (std::size_t k : unique) children.push_back(&f.values[k]);
        count = unique.size();
        header = static_cast<std::uint32_t>(count) | JB_FOBJECT;
    } else {
        for (const JsonbChild& v : f.values) children.push_back(&v);
        count = children.size();
        header = static_cast<std::uint32_t>(count) | JB_FARRAY;
    }
    if (count > JB_CMASK) too_large();
    std::size_t data_bytes = 0;
    for (const JsonbChild* c : children) data_bytes += c->bytes().size() + 3;
    std::string out;
    out.reserve(4 * (children.size() + 1) + data_bytes);
    out.resize(4 * (children.size() + 1));
    put_u32(out, 0, header);
    const std::size_t data_start = out.size();
    std::uint32_t total = 0;
    for (std::size_t i = 0; i < children.size(); ++i) {
        const JsonbChild& c = *children[i];
        const std::size_t before = out.size();
        if (aligned_type(c.type))
            while ((out.size() - data_start) % 4 != 0) out.push_back('\0');
        std::string_view b = c.bytes();
        out.append(b.data(), b.size());
        const std::size_t len = out.size() - before;
        if (total + len > JENTRY_OFFLENMASK) too_large();
        total += static_cast<std::uint32_t>(len);
        std::uint32_t meta = c.type | (i % JB_OFFSET_STRIDE == 0 ? total | JENTRY_HAS_OFF : static_cast<std::uint32_t>(len));
        put_u32(out, 4 * (i + 1), meta);
    }
    return out;
}

Datum JsonbRawWriter::result() const {
    std::string_view b = done_.bytes();
    const char* p = b.data();
    std::size_t len = b.size();
    return pg_call([p, len] {
        auto* jb = static_cast<Jsonb*>(palloc(VARHDRSZ + len));
        SET_VARSIZE(jb, VARHDRSZ + len);
        memcpy(VARDATA(jb), p, len);
        return JsonbPGetDatum(jb);
    });
}

Datum element_datum(const std::vector<JsonbChild>& elements, std::size_t index) {
    std::string_view b = elements.at(index).bytes();
    const char* p = b.data();
    std::size_t len = b.size();
    return pg_call([p, len] {
        auto* jb = static_cast<Jsonb*>(palloc(VARHDRSZ + len));
        SET_VARSIZE(jb, VARHDRSZ + len);
        memcpy(VARDATA(jb), p, len);
        return JsonbPGetDatum(jb);
    });
}

}  // namespace ce::pg::ops
