// libFuzzer target for history deltas (delta.hpp).
//
// Properties (a violation traps):
//  * encode/apply round trip: the input split at its first 0xff byte into base and
//    target; apply(base, encode(base, target)) == target, and the header names both
//    sizes;
//  * apply() on arbitrary bytes as a delta (against the first half of the input as
//    the base) either throws ce::Error(invalid_binary) or returns exactly the target
//    size its header announces, never reading outside the base or the delta (ASan).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "concurrent_edit/delta.hpp"
#include "concurrent_edit/error.hpp"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::size_t cut = in.find('\xff');
    std::string_view base = cut == std::string_view::npos ? in.substr(0, size / 2) : in.substr(0, cut);
    std::string_view target = cut == std::string_view::npos ? in.substr(size / 2) : in.substr(cut + 1);

    std::string d = ce::delta::encode(base, target);
    check(ce::delta::apply(base, d) == target);
    ce::delta::Header h = ce::delta::header(d);
    check(h.base_size == base.size() && h.target_size == target.size());

    // Arbitrary bytes as a delta, with a valid header prepended half of the time.
    std::string garbage(in);
    if (size % 2 == 0 && size > 0) {
        std::string hdr = ce::delta::encode(base, target.substr(0, target.size() / 2));
        garbage = hdr.substr(0, 4) + garbage;
    }
    try {
        std::string out = ce::delta::apply(base, garbage);
        check(out.size() == ce::delta::header(garbage).target_size);
    } catch (const ce::Error& e) {
        check(e.code() == ce::Errc::invalid_binary);
    }
    return 0;
}
