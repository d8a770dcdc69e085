// SipHash-2-4 (Aumasson and Bernstein): a keyed 64-bit hash. Without the key,
// inputs whose hashes collide cannot be found faster than by trying; the
// extension keys the hashes of its lock tags with it (src/pg/advisory.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ce {

// The hash of `n` bytes at `data` under the 16-byte `key`.
std::uint64_t siphash24(const std::uint8_t key[16], const void* data, std::size_t n);

}  // namespace ce
