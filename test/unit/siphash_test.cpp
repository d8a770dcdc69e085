// SipHash-2-4 against the specification's test vectors: key 00 01 .. 0f, messages
// 00, 00 01, ..., i.e. the first i bytes of 00 01 02 ...
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "concurrent_edit/siphash.hpp"

namespace {

std::uint64_t vector_hash(std::size_t len) {
    std::uint8_t key[16];
    for (int i = 0; i < 16; ++i) key[i] = static_cast<std::uint8_t>(i);
    std::vector<std::uint8_t> msg(len);
    for (std::size_t i = 0; i < len; ++i) msg[i] = static_cast<std::uint8_t>(i);
    return ce::siphash24(key, msg.data(), msg.size());
}

TEST(SipHash, SpecificationVectors) {
    // The paper's worked example (appendix A): 15 bytes.
    EXPECT_EQ(vector_hash(15), 0xa129ca6149be45e5ULL);
    // The reference implementation's table (vectors.h), lengths 0, 1 and 8.
    EXPECT_EQ(vector_hash(0), 0x726fdb47dd0e0e31ULL);
    EXPECT_EQ(vector_hash(1), 0x74f839c593dc67fdULL);
    EXPECT_EQ(vector_hash(8), 0x93f5f5799a932462ULL);
}

TEST(SipHash, KeyMatters) {
    std::uint8_t a[16] = {}, b[16] = {};
    b[15] = 1;
    const char m[] = "00000000-0000-0000-0000-000000000001";
    EXPECT_NE(ce::siphash24(a, m, sizeof m - 1), ce::siphash24(b, m, sizeof m - 1));
    EXPECT_EQ(ce::siphash24(a, m, sizeof m - 1), ce::siphash24(a, m, sizeof m - 1));
}

}  // namespace
