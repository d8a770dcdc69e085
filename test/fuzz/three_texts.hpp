// The input layout of the fuzz targets that take three texts (merge_fuzz,
// semantic_fuzz): one option byte, then base, ours and theirs separated by 0x00
// bytes (a missing separator leaves the later texts empty).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

// False for an empty input; otherwise sets the option byte and the three texts.
inline bool three_texts(const std::uint8_t* data, std::size_t size, std::uint8_t& option,
                        std::string_view (&texts)[3]) {
    if (size < 1) return false;
    option = data[0];
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    for (int i = 0; i < 3; ++i) {
        std::size_t z = i < 2 ? rest.find('\0') : std::string_view::npos;
        texts[i] = rest.substr(0, z);
        rest = z == std::string_view::npos ? std::string_view() : rest.substr(z + 1);
    }
    return true;
}
