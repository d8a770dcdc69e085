// SipHash-2-4, written from the specification ("SipHash: a fast short-input PRF",
// Aumasson and Bernstein, 2012): two compression rounds per 8-byte word, four
// finalization rounds, words read little-endian.
#include "concurrent_edit/siphash.hpp"

namespace ce {
namespace {

std::uint64_t rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

std::uint64_t read_le64(const std::uint8_t* p, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    return v;
}

struct State {
    std::uint64_t v0, v1, v2, v3;
    void round() {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    }
    void absorb(std::uint64_t m) {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

}  // namespace

std::uint64_t siphash24(const std::uint8_t key[16], const void* data, std::size_t n) {
    const std::uint64_t k0 = read_le64(key, 8), k1 = read_le64(key + 8, 8);
    State s{k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
            k1 ^ 0x7465646279746573ULL};
    const auto* p = static_cast<const std::uint8_t*>(data);
    std::size_t whole = n - n % 8;
    for (std::size_t i = 0; i < whole; i += 8) s.absorb(read_le64(p + i, 8));
    // The last word: the remaining bytes, the length's low byte on top.
    s.absorb(read_le64(p + whole, n % 8) | (static_cast<std::uint64_t>(n & 0xff) << 56));
    s.v2 ^= 0xff;
    s.round();
    s.round();
    s.round();
    s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace ce
