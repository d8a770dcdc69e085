// jsonb binary output of the operation functions (see operations_jsonb.hpp).
#include "pg/operations_jsonb.hpp"

#include <algorithm>
#include <cstring>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/memory.hpp"
#include "pg/jsonb_layout.hpp"

namespace ce::pg::ops {

namespace {

[[noreturn]] void too_large() { jsonb::too_large("the result of the operation function"); }

// jsonb's key order: shorter first, then bytewise.
bool key_less(const JsonbNode& a, const JsonbNode& b) {
    if (a.len != b.len) return a.len < b.len;
    return memcmp(a.data, b.data, a.len) < 0;
}

bool key_equal(const JsonbNode& a, const JsonbNode& b) { return a.len == b.len && memcmp(a.data, b.data, a.len) == 0; }

}  // namespace

std::vector<JsonbNode> container_children(const JsonbContainer* c) {
    std::vector<JsonbNode> out;
    out.reserve(JsonContainerIsObject(c) ? 2 * JsonContainerSize(c) : JsonContainerSize(c));
    jsonb::for_each_child(c, [&](std::uint32_t, const jsonb::Child& ch) {
        out.push_back(JsonbNode{ch.type, ch.data, ch.len, -1});
    });
    return out;
}

JsonbRawWriter::JsonbRawWriter(const JsonbContainer* input) : elements_(container_children(input)) {}

JsonbNode JsonbRawWriter::string_node(std::string_view s) {
    if (s.size() > JENTRY_OFFLENMASK) too_large();
    return JsonbNode{JENTRY_ISSTRING, s.data(), static_cast<std::uint32_t>(s.size()), -1};
}

void JsonbRawWriter::number(std::int64_t x) {
    Numeric num = pg_call([x] { return int64_to_numeric(x); });  // palloc'd: lives until result()
    add(JsonbNode{JENTRY_ISNUMERIC, reinterpret_cast<const char*>(num), static_cast<std::uint32_t>(VARSIZE_ANY(num)), -1});
}

void JsonbRawWriter::add(JsonbNode v) {
    if (stack_.empty()) done_ = v;
    else frames_[stack_.back()].values.push_back(v);
}

void JsonbRawWriter::open(bool object) {
    stack_.push_back(static_cast<std::int32_t>(frames_.size()));
    frames_.emplace_back();
    frames_.back().object = object;
}

void JsonbRawWriter::operation(const std::vector<ce::ops::Operation>&, std::size_t index,
                               const ce::ops::AppliedOp* mapped) {
    ticker_.tick();
    const JsonbNode& element = elements_.at(index);
    if (mapped == nullptr || (!mapped->block_id && !mapped->offset && !mapped->target_block_id)) {
        add(element);
        return;
    }
    // The object's members, then the mapped ones (a later duplicate key wins).
    std::vector<JsonbNode> children = container_children(reinterpret_cast<const JsonbContainer*>(element.data));
    const std::size_t n = children.size() / 2;
    open(true);
    Frame& f = frames_.back();
    f.keys.reserve(n + 3);
    f.values.reserve(n + 3);
    f.keys.assign(children.begin(), children.begin() + static_cast<std::ptrdiff_t>(n));
    f.values.assign(children.begin() + static_cast<std::ptrdiff_t>(n), children.end());
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
    close();
}

// Sorts an object's keys (a stable sort: O(n log n) however the members come;
// an insertion sort here took quadratic time, without a check for interrupts, on
// keys in byte order where jsonb orders them by length first), keeps the last of
// duplicate keys, and computes the container's size as jsonb lays it out for a
// start at a 4-byte aligned position.
void JsonbRawWriter::close() {
    const std::int32_t idx = stack_.back();
    stack_.pop_back();
    Frame& f = frames_[idx];
    if (f.object) {
        const std::size_t n = f.keys.size();
        std::vector<std::size_t> order(n);
        for (std::size_t i = 0; i < n; ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&f](std::size_t a, std::size_t b) { return key_less(f.keys[a], f.keys[b]); });
        std::vector<JsonbNode> keys, values;
        keys.reserve(n);
        values.reserve(n);
        for (std::size_t k : order) {
            if (!keys.empty() && key_equal(keys.back(), f.keys[k])) {
                values.back() = f.values[k];  // the later duplicate wins
                continue;
            }
            keys.push_back(f.keys[k]);
            values.push_back(f.values[k]);
        }
        f.keys = std::move(keys);
        f.values = std::move(values);
    }
    const std::size_t count = f.keys.size() + f.values.size();
    if ((f.object ? f.keys.size() : count) > JB_CMASK) too_large();
    std::uint64_t off = 0;
    for (const std::vector<JsonbNode>* part : {&f.keys, &f.values}) {
        for (const JsonbNode& c : *part) {
            if (jsonb::aligned_type(c.type)) off = jsonb::align4(off);
            off += node_size(c);
            if (off > JENTRY_OFFLENMASK) too_large();
        }
    }
    f.size = static_cast<std::uint32_t>(4 + 4 * count + off);
    add(JsonbNode{JENTRY_ISCONTAINER, nullptr, f.size, idx});
}

std::uint32_t JsonbRawWriter::node_size(const JsonbNode& n) const {
    return n.frame >= 0 ? frames_[n.frame].size : n.len;
}

// Writes a closed container at `out` (4-byte aligned), as close() measured it.
void JsonbRawWriter::write(const Frame& f, char* out) const {
    const std::size_t count = f.keys.size() + f.values.size();
    const std::uint32_t header =
        f.object ? static_cast<std::uint32_t>(f.keys.size()) | JB_FOBJECT : static_cast<std::uint32_t>(count) | JB_FARRAY;
    memcpy(out, &header, 4);
    char* data = out + 4 + 4 * count;
    std::uint32_t off = 0;
    std::size_t i = 0;
    for (const std::vector<JsonbNode>* part : {&f.keys, &f.values}) {
        for (const JsonbNode& c : *part) {
            const std::uint32_t start = off;
            if (jsonb::aligned_type(c.type)) {
                std::uint32_t aligned = static_cast<std::uint32_t>(jsonb::align4(off));
                memset(data + off, 0, aligned - off);
                off = aligned;
            }
            if (c.frame >= 0) write(frames_[c.frame], data + off);
            else if (c.len > 0) memcpy(data + off, c.data, c.len);
            off += node_size(c);
            const std::uint32_t meta = jsonb::entry(c.type, i, start, off);
            memcpy(out + 4 + 4 * i, &meta, 4);
            ++i;
        }
    }
}

Datum JsonbRawWriter::result() {
    if (done_.frame < 0 || !stack_.empty()) throw ce::Error(ce::Errc::internal, "operations: unfinished jsonb result");
    const std::size_t size = node_size(done_);
    if (size > MaxAllocSize - VARHDRSZ) too_large();
    // Counted against the caller's Budget (max_merge_memory) before it is made, as
    // jsonb_merge3's result is: each rejected entry echoes its operations, so the
    // result can be many times the input.
    ce::memory::Charge output(ce::memory::malloc_size(VARHDRSZ + size));
    auto* jb = pg_call([size] { return static_cast<Jsonb*>(palloc(VARHDRSZ + size)); });
    SET_VARSIZE(jb, VARHDRSZ + size);
    write(frames_[done_.frame], VARDATA(jb));
    return JsonbPGetDatum(jb);
}

Datum element_datum(const std::vector<JsonbNode>& elements, std::size_t index) {
    const JsonbNode& e = elements.at(index);
    const char* p = e.data;
    std::size_t len = e.len;
    return pg_call([p, len] {
        auto* jb = static_cast<Jsonb*>(palloc(VARHDRSZ + len));
        SET_VARSIZE(jb, VARHDRSZ + len);
        memcpy(VARDATA(jb), p, len);
        return JsonbPGetDatum(jb);
    });
}

}  // namespace ce::pg::ops
