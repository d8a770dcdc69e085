// Fuzzes the three-way JSON merge. The input chooses an array mode and a base
// document (JSON text before a NUL byte, or generated from the bytes), then two
// edited versions x and y are derived from it by mutations (json_mutator.hpp).
// Checked: merge(b, b, x) = x, merge(b, x, b) = x, merge(x, x, x) = x, merge(b, x, x)
// = x, all clean and identical to x; merge(b, x, y) is deterministic, its content is
// valid JSON, clean iff no conflicts, and clean-ness does not depend on which side
// is "ours".
#include <cstdint>
#include <cstring>
#include <string>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/json.hpp"
#include "concurrent_edit/json_merge.hpp"
#include "json_mutator.hpp"

namespace {

using namespace ce::json;

void require(bool ok) {
    if (!ok) __builtin_trap();
}

void same_as_x(const MergeResult& r, const Value& x) {
    require(r.clean && r.conflicts.empty());
    require(identical(r.content, x));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static const ArrayMode modes[] = {ArrayMode::auto_, ArrayMode::by_id, ArrayMode::sequence, ArrayMode::atomic};
    const ArrayMode mode = modes[data[0] % 4];
    ++data, --size;

    Value b;
    const void* nul = std::memchr(data, 0, size);
    bool have_base = false;
    if (nul != nullptr) {
        const std::size_t len = static_cast<const std::uint8_t*>(nul) - data;
        try {
            b = parse(std::string_view(reinterpret_cast<const char*>(data), len), ParseOptions{1 << 16, 64});
            have_base = true;
        } catch (const ce::Error&) {
        }
        data += len + 1;
        size -= len + 1;
    }
    testing::ByteSource src(data, size);
    if (!have_base) b = testing::gen_value(src, 4);
    const Value x = testing::mutate(b, src);
    const Value y = testing::mutate(b, src);

    same_as_x(merge3(&b, b, x, mode), x);
    same_as_x(merge3(&b, x, b, mode), x);
    same_as_x(merge3(&x, x, x, mode), x);
    same_as_x(merge3(&b, x, x, mode), x);
    same_as_x(merge3(nullptr, x, x, mode), x);

    const MergeResult r1 = merge3(&b, x, y, mode);
    const MergeResult r2 = merge3(&b, x, y, mode);
    require(identical(r1.content, r2.content));
    require(identical(conflicts_to_value(r1.conflicts), conflicts_to_value(r2.conflicts)));
    require(r1.clean == r1.conflicts.empty());
    require(identical(parse(to_string(r1.content)), r1.content));
    require(identical(parse(to_string(conflicts_to_value(r1.conflicts))), conflicts_to_value(r1.conflicts)));
    require(merge3(&b, y, x, mode).clean == r1.clean);
    return 0;
}
