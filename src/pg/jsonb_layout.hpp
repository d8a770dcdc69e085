// jsonb's binary layout (src/include/utils/jsonb.h of PostgreSQL), shared by the
// readers and writers of the glue: a container is a header word (count and kind),
// one JEntry per child -- object keys first, then values -- and the children's data;
// every 32nd JEntry stores an end offset, the others a length; numerics and nested
// containers start 4-byte aligned, the padding counting in the child's length.
// Reading a container is plain memory access (no PostgreSQL call).
#pragma once

#include <cstdint>

#include "pg/boundary.hpp"

namespace ce::pg::jsonb {

inline bool aligned_type(std::uint32_t type) { return type == JENTRY_ISNUMERIC || type == JENTRY_ISCONTAINER; }

inline std::uint64_t align4(std::uint64_t x) { return (x + 3) & ~std::uint64_t(3); }

// The JEntry of child `i` whose data (padding included) spans [start, end) of its
// container's data area.
inline std::uint32_t entry(std::uint32_t type, std::size_t i, std::uint32_t start, std::uint32_t end) {
    return type | (i % JB_OFFSET_STRIDE == 0 ? end | JENTRY_HAS_OFF : end - start);
}

// A child of a container read in place: its JEntry type bits and its bytes (without
// the alignment padding).
struct Child {
    std::uint32_t type;
    const char* data;
    std::uint32_t len;
};

// Calls f(i, Child) for each child of `c` in storage order (object: keys, then values).
template <typename F>
void for_each_child(const JsonbContainer* c, F&& f) {
    const std::uint32_t n = JsonContainerSize(c);
    const std::uint32_t count = JsonContainerIsObject(c) ? 2 * n : n;
    const char* base = reinterpret_cast<const char*>(&c->children[count]);
    std::uint32_t offset = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        const JEntry e = c->children[i];
        const std::uint32_t end = JBE_HAS_OFF(e) ? JBE_OFFLENFLD(e) : offset + JBE_OFFLENFLD(e);
        const std::uint32_t type = e & JENTRY_TYPEMASK;
        const std::uint32_t start = aligned_type(type) ? INTALIGN(offset) : offset;
        f(i, Child{type, base + start, end - start});
        offset = end;
    }
}

// 54000: a jsonb container cannot hold `what`.
[[noreturn]] void too_large(const char* what);

}  // namespace ce::pg::jsonb
