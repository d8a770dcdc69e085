// Writing the results of the operation functions in jsonb's binary format
// (src/include/utils/jsonb.h of PostgreSQL: a container is a header word, one JEntry
// per child -- object keys first, then values -- and the children's data; every
// 32nd JEntry stores an end offset, the others a length; numerics and nested
// containers start 4-byte aligned, the padding counting in the child's length).
// Operations are copied from the input array's element containers byte for byte,
// instead of being unpacked and re-encoded.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/ops.hpp"
#include "pg/boundary.hpp"


namespace ce::pg::ops {

// A child of a container: its JEntry type bits and either its bytes (without
// alignment padding; not owned) or a container finished by the writer.
struct JsonbNode {
    std::uint32_t type = JENTRY_ISNULL;
    const char* data = nullptr;
    std::uint32_t len = 0;
    std::int32_t frame = -1;  // index of a finished container of the writer
};

// The children of a container (object: keys, then values), read in place.
std::vector<JsonbNode> container_children(const JsonbContainer* c);

// The writer for ce::ops::write_order / write_resolution (see ops.hpp). It copies
// nothing until result(): every string passed to it, the input jsonb and the
// operations must outlive that call.
class JsonbRawWriter {
public:
    // `input` is the root of the ops array whose elements operation() copies.
    explicit JsonbRawWriter(const JsonbContainer* input);

    void begin_object() { open(true); }
    void end_object() { close(); }
    void begin_array() { open(false); }
    void end_array() { close(); }
    void key(std::string_view k) { frames_[stack_.back()].keys.push_back(string_node(k)); }
    void string(std::string_view s) { add(string_node(s)); }
    void number(std::int64_t v);
    void null() { add(JsonbNode{}); }
    void operation(const std::vector<ce::ops::Operation>& ops, std::size_t index, const ce::ops::AppliedOp* mapped);

    // The finished value as a jsonb Datum, written once into palloc'd memory.
    Datum result();

private:
    struct Frame {
        bool object = false;
        std::vector<JsonbNode> keys;
        std::vector<JsonbNode> values;
        std::uint32_t size = 0;  // bytes, known once closed
    };
    static JsonbNode string_node(std::string_view s);
    void open(bool object);
    void close();
    void add(JsonbNode v);
    std::uint32_t node_size(const JsonbNode& n) const;
    void write(const Frame& f, char* out) const;

    std::vector<JsonbNode> elements_;  // of the input array
    std::vector<Frame> frames_;        // all containers, open and finished
    std::vector<std::int32_t> stack_;  // open containers
    JsonbNode done_;
    ce::InterruptTicker ticker_{4096};
};

// A jsonb Datum holding a copy of element `index` of the input array.
Datum element_datum(const std::vector<JsonbNode>& elements, std::size_t index);

}  // namespace ce::pg::ops
