// Fuzzes the strict JSON parser and the printer: no crash, only the documented error
// kinds, and print(parse(x)) is a fixed point that parses back to an identical value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace ce::json;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    Value v;
    try {
        v = parse(text, ParseOptions{1 << 20, kMaxDepth});
    } catch (const ce::Error& e) {
        if (e.code() != ce::Errc::invalid_json && e.code() != ce::Errc::limit_exceeded &&
            e.code() != ce::Errc::out_of_range)
            __builtin_trap();
        return 0;
    }
    const std::string once = to_string(v);
    const Value w = parse(once);  // the printer's output is always valid JSON
    if (!identical(v, w) || !(v == w) || v.hash() != w.hash()) __builtin_trap();
    if (to_string(w) != once) __builtin_trap();
    return 0;
}
