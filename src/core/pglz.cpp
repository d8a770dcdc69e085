// pglz decoder (include/concurrent_edit/pglz.hpp).
//
// Two loops. The fast one runs while a whole group (a control byte and eight
// items of at most three bytes) fits in the input and eight of the longest
// back-references (273 bytes) plus 16 bytes of slack fit in the output: it needs
// no bounds check but the offset's, copies eight literals with one 8-byte move,
// and copies back-references in 8- or 16-byte blocks that may write past the
// reference's end (into the slack; the next item overwrites it). The careful
// loop decodes the rest item by item, with every check.
#include "concurrent_edit/pglz.hpp"

#include <cstdint>
#include <cstring>

namespace ce::pglz {
namespace {

constexpr std::size_t kGroupInput = 1 + 8 * 3;           // a control byte and eight 3-byte tags
constexpr std::size_t kMaxMatch = 273;
constexpr std::size_t kGroupOutput = 8 * kMaxMatch + 16;  // eight longest references, and slack

inline void copy8(unsigned char* d, const unsigned char* s) { std::memcpy(d, s, 8); }
inline void copy16(unsigned char* d, const unsigned char* s) { std::memcpy(d, s, 16); }

// A back-reference copied exactly: `len` bytes from `off` back. One longer than
// its offset repeats the `off` bytes before it, and is copied in blocks that do
// not overlap, each twice as long as the last (the bytes `off` back and those
// 2 * off back are the same), as PostgreSQL's decoder does: byte by byte, a 2 kB
// text of one 51-byte line repeated (a value small enough for the careful loop
// alone) took 7 times as long as PostgreSQL's decoder.
inline unsigned char* copy_exact(unsigned char* dp, std::size_t off, std::size_t len) {
    const unsigned char* from = dp - off;
    while (off < len) {
        std::memcpy(dp, from, off);
        dp += off;
        len -= off;
        off += off;
    }
    std::memcpy(dp, from, len);
    return dp + len;
}

// A back-reference in the fast loop: `len` bytes from `off` back, with room for
// len + 15 bytes at `dp`. Blocks of 16 (or 8) bytes never read bytes the same
// block writes, since off >= the block size; shorter offsets (runs) are copied
// exactly.
inline unsigned char* copy_match(unsigned char* dp, std::size_t off, std::size_t len) {
    const unsigned char* from = dp - off;
    unsigned char* end = dp + len;
    if (off >= 16) {
        do {
            copy16(dp, from);
            dp += 16;
            from += 16;
        } while (dp < end);
    } else if (off >= 8) {
        do {
            copy8(dp, from);
            dp += 8;
            from += 8;
        } while (dp < end);
    } else {
        copy_exact(dp, off, len);
    }
    return end;
}

}  // namespace

bool decompress(const unsigned char* src, std::size_t n, char* dst, std::size_t raw) {
    const unsigned char* sp = src;
    const unsigned char* const send = src + n;
    auto* const begin = reinterpret_cast<unsigned char*>(dst);
    unsigned char* dp = begin;
    unsigned char* const dend = begin + raw;

    // Fast loop: whole groups with room to spare on both sides.
    while (static_cast<std::size_t>(send - sp) >= kGroupInput && static_cast<std::size_t>(dend - dp) >= kGroupOutput) {
        unsigned ctrl = *sp++;
        if (ctrl == 0) {  // eight literals
            copy8(dp, sp);
            sp += 8;
            dp += 8;
            continue;
        }
        for (int i = 0; i < 8; ++i, ctrl >>= 1) {
            if ((ctrl & 1) == 0) {
                *dp++ = *sp++;
                continue;
            }
            std::size_t len = (sp[0] & 0x0f) + 3;
            std::size_t off = (static_cast<std::size_t>(sp[0] & 0xf0) << 4) | sp[1];
            sp += 2;
            if (len == 18) len += *sp++;
            if (off == 0 || off > static_cast<std::size_t>(dp - begin)) return false;
            dp = copy_match(dp, off, len);
        }
    }

    // Careful loop: item by item, every bound checked.
    while (sp < send && dp < dend) {
        unsigned ctrl = *sp++;
        for (int i = 0; i < 8 && sp < send && dp < dend; ++i, ctrl >>= 1) {
            if ((ctrl & 1) == 0) {
                *dp++ = *sp++;
                continue;
            }
            if (send - sp < 2) return false;  // a tag cut short
            std::size_t len = (sp[0] & 0x0f) + 3;
            std::size_t off = (static_cast<std::size_t>(sp[0] & 0xf0) << 4) | sp[1];
            sp += 2;
            if (len == 18) {
                if (sp == send) return false;
                len += *sp++;
            }
            if (off == 0 || off > static_cast<std::size_t>(dp - begin)) return false;
            std::size_t room = static_cast<std::size_t>(dend - dp);
            if (len > room) len = room;  // a reference may run past the end: the output stops there
            dp = copy_exact(dp, off, len);
        }
    }
    return dp == dend && sp == send;
}

}  // namespace ce::pglz
