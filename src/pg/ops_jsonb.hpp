// Writing the results of the operation functions in jsonb's binary format
// (src/include/utils/jsonb.h of PostgreSQL: a container is a header word, one JEntry
// per child -- object keys first, then values -- and the children's data; every
// 32nd JEntry stores an end offset, the others a length; numerics and nested
// containers start 4-byte aligned). Operations are copied from the input array's
// element containers, byte for byte, instead of being unpacked and re-encoded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/ops.hpp"
#include "pg/boundary.hpp"

extern "C" {
#include "utils/jsonb.h"
}

namespace ce::pg::ops {

// One child of a container: its JEntry type bits and its bytes (without alignment
// padding), either pointing into a container that outlives the writer or owned.
struct JsonbChild {
    std::uint32_t type = JENTRY_ISNULL;
    const char* data = nullptr;
    std::size_t len = 0;
    std::string owned;  // used when `own`
    bool own = false;
    std::string_view bytes() const { return own ? std::string_view(owned) : std::string_view(data, len); }
};

// The children of a container (object: keys, then values), read in place.
std::vector<JsonbChild> container_children(const JsonbContainer* c);

// The writer for ce::ops::write_order / write_resolution (see ops.hpp).
class JsonbRawWriter {
public:
    // `input` is the root of the ops array whose elements operation() copies.
    explicit JsonbRawWriter(const JsonbContainer* input);

    void begin_object() { stack_.push_back(Frame{true, {}, {}}); }
    void end_object() { end(); }
    void begin_array() { stack_.push_back(Frame{false, {}, {}}); }
    void end_array() { end(); }
    void key(std::string_view k) { stack_.back().keys.emplace_back(k); }
    void string(std::string_view s);
    void number(std::int64_t v);
    void null();
    void operation(const std::vector<ce::ops::Operation>& ops, std::size_t index, const ce::ops::AppliedOp* mapped);

    // The finished value as a jsonb Datum (palloc'd).
    Datum result() const;

private:
    struct Frame {
        bool object;
        std::vector<std::string> keys;
        std::vector<JsonbChild> values;
    };
    void add(JsonbChild v);
    void end();
    static std::string serialize(Frame& f);

    std::vector<JsonbChild> elements_;  // of the input array
    std::vector<Frame> stack_;
    JsonbChild done_;
    ce::InterruptTicker ticker_{4096};
};

// A jsonb Datum holding a copy of element `index` of the input array.
Datum element_datum(const std::vector<JsonbChild>& elements, std::size_t index);

}  // namespace ce::pg::ops
