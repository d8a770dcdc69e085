// libFuzzer target for the pglz decoder (pglz.hpp), with PostgreSQL's decoder
// (libpgcommon) as the oracle.
//
// The input's first two bytes give the output size (0..65535); the rest is the
// compressed stream. Properties (a violation traps):
//  * the decoder never reads or writes outside its buffers (ASan);
//  * it accepts exactly the streams PostgreSQL's decoder accepts with
//    check_complete, and then produces the same bytes;
//  * the rest of the input, compressed by PostgreSQL, decodes to itself.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "concurrent_edit/pglz.hpp"
#include "pglz_oracle.hpp"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    std::size_t raw = static_cast<std::size_t>(data[0]) | (static_cast<std::size_t>(data[1]) << 8);
    const std::uint8_t* stream = data + 2;
    std::size_t n = size - 2;

    // Exact-size buffers, so ASan sees any access outside them.
    auto* src = new unsigned char[n ? n : 1];
    std::memcpy(src, stream, n);
    char* ours = new char[raw ? raw : 1];
    bool ok = ce::pglz::decompress(src, n, ours, raw);

    // PostgreSQL's decoder may read two bytes past a tag cut short: give it padding.
    std::string padded(reinterpret_cast<const char*>(stream), n);
    padded.append(8, '\0');
    std::string theirs(raw + 8, '\0');
    std::int32_t got = pglz_decompress(padded.data(), static_cast<std::int32_t>(n), theirs.data(),
                                       static_cast<std::int32_t>(raw), true);
    check(ok == (got >= 0));
    if (ok) check(static_cast<std::size_t>(got) == raw && std::memcmp(ours, theirs.data(), raw) == 0);
    delete[] ours;
    delete[] src;

    // Round trip of the stream bytes taken as a text.
    std::string text(reinterpret_cast<const char*>(stream), n);
    std::string c(n + 4 + 16, '\0');
    std::int32_t cn = pglz_compress(text.data(), static_cast<std::int32_t>(n), c.data(), PGLZ_strategy_always);
    if (cn >= 0) {
        std::string back(n, '\0');
        check(ce::pglz::decompress(reinterpret_cast<const unsigned char*>(c.data()), static_cast<std::size_t>(cn),
                                   back.data(), n));
        check(back == text);
    }
    return 0;
}
