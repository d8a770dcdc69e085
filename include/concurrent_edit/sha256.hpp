// SHA-256 (FIPS 180-4) of a byte string, as lowercase hex. Used for content hashes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ce {

class Sha256 {
public:
    Sha256() noexcept;
    void update(const void* data, std::size_t len) noexcept;
    std::array<std::uint8_t, 32> digest() noexcept;  // finalizes; the object is spent

private:
    void block(const std::uint8_t* p) noexcept;
    std::uint32_t h_[8];
    std::uint8_t buf_[64];
    std::size_t buflen_ = 0;
    std::uint64_t total_ = 0;
};

// Lowercase hex SHA-256 of `data` (64 characters).
std::string sha256_hex(std::string_view data);
// Writes the 64 hex characters (no terminator) to `out`.
void sha256_hex(std::string_view data, char out[64]) noexcept;

// True if `s` is 64 lowercase hex digits.
bool is_sha256_hex(std::string_view s) noexcept;

}  // namespace ce
