#include "concurrent_edit/lines.hpp"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"

namespace ce {

namespace {

inline std::size_t popcount(std::uint64_t m) {  // without -mpopcnt, __builtin_popcountll is a call
    m = m - ((m >> 1) & 0x5555555555555555ULL);
    m = (m & 0x3333333333333333ULL) + ((m >> 2) & 0x3333333333333333ULL);
    m = (m + (m >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return static_cast<std::size_t>((m * 0x0101010101010101ULL) >> 56);
}

// Calls f(i, m) for consecutive 64-byte blocks of p[0, n) (the last one shorter)
// starting at offset i, where bit k of m is set when p[i + k] is '\n'. With SSE2
// (every x86-64) a block is tested in four instructions: lines are short in source
// code, so one memchr call per line cost more than the search itself.
template <class F>
inline void newline_masks(const char* p, std::size_t n, F&& f) {
    std::size_t i = 0;
#if defined(__SSE2__)
    const __m128i nl = _mm_set1_epi8('\n');
    auto mask16 = [&](std::size_t at) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at));
        return static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl))));
    };
    for (; i + 64 <= n; i += 64)
        f(i, mask16(i) | mask16(i + 16) << 16 | mask16(i + 32) << 32 | mask16(i + 48) << 48);
#endif
    for (; i < n; i += 64) {
        std::uint64_t m = 0;
        for (std::size_t k = 0; k < 64 && i + k < n; ++k)
            if (p[i + k] == '\n') m |= std::uint64_t(1) << k;
        f(i, m);
    }
}

}  // namespace

std::vector<std::string_view> split_lines(std::string_view text) {
    if (text.size() > kMaxTextBytes)
        throw Error(Errc::limit_exceeded, "text too large for a line diff",
                    Detail().add("bytes", text.size()).add("limit", kMaxTextBytes));
    const char* p = text.data();
    const std::size_t n = text.size();
    // Count first, so the vector is allocated once (page faults are costly).
    std::size_t count = 0;
    newline_masks(p, n, [&](std::size_t, std::uint64_t m) { count += popcount(m); });
    if (n > 0 && p[n - 1] != '\n') ++count;  // a last line without newline
    if (count > kMaxLines)
        throw Error(Errc::limit_exceeded, "text has too many lines for a line diff",
                    Detail().add("lines", count).add("limit", kMaxLines));
    std::vector<std::string_view> lines;
    lines.reserve(count);
    InterruptTicker ticker(1 << 16);
    std::size_t start = 0;
    newline_masks(p, n, [&](std::size_t i, std::uint64_t m) {
        for (; m != 0; m &= m - 1) {
            std::size_t end = i + static_cast<std::size_t>(__builtin_ctzll(m)) + 1;
            lines.emplace_back(p + start, end - start);
            start = end;
        }
        ticker.tick();
    });
    if (start < n) lines.emplace_back(p + start, n - start);
    return lines;
}

namespace {

inline std::uint64_t mix(std::uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

// A fast 64-bit hash of a line: 8 bytes at a time, then the tail.
inline std::uint64_t hash_line(std::string_view s) {
    std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ (s.size() * 0x100000001b3ULL);
    const char* p = s.data();
    std::size_t n = s.size();
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * 0x87c37b91114253d5ULL;
        h = (h << 31) | (h >> 33);
        p += 8;
        n -= 8;
    }
    // The tail of 0 to 7 bytes in at most two loads, not a byte loop.
    std::uint64_t w = 0;
    if (n >= 4) {
        std::uint32_t lo, hi;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + n - 4, 4);
        w = lo | static_cast<std::uint64_t>(hi) << 32;
    } else if (n > 0) {
        w = static_cast<unsigned char>(p[0]) | static_cast<std::uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
            static_cast<std::uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16;
    }
    h = (h ^ w) * 0x4cf5ad432745937fULL;
    return mix(h);
}

}  // namespace

LineInterner::LineInterner(std::size_t expected_lines) {
    std::size_t cap = 1024;
    while (cap < expected_lines * 2) cap *= 2;
    slots_.assign(cap, 0);
    mask_ = cap - 1;
    keys_.reserve(std::min<std::size_t>(expected_lines, cap / 2));
    hashes_.reserve(keys_.capacity());
    account();
}

void LineInterner::account() {
    charge_.resize(memory::vector_bytes(keys_.capacity(), sizeof(keys_[0])) +
                   memory::vector_bytes(hashes_.capacity(), sizeof(hashes_[0])) +
                   memory::vector_bytes(slots_.capacity(), sizeof(slots_[0])));
}

void LineInterner::grow() {
    std::size_t cap = slots_.size() * 2;
    std::vector<std::uint32_t> slots(cap, 0);
    std::size_t mask = cap - 1;
    for (std::uint32_t id = 0; id < keys_.size(); ++id) {
        std::size_t i = hashes_[id] & mask;
        while (slots[i] != 0) i = (i + 1) & mask;
        slots[i] = id + 1;
    }
    slots_.swap(slots);
    mask_ = mask;
    account();
}

std::uint32_t LineInterner::intern(std::string_view line) {
    std::uint64_t h = hash_line(line);
    std::size_t i = h & mask_;
    for (;;) {
        std::uint32_t s = slots_[i];
        if (s == 0) break;
        std::uint32_t id = s - 1;
        if (hashes_[id] == h && keys_[id] == line) return id;
        i = (i + 1) & mask_;
    }
    auto id = static_cast<std::uint32_t>(keys_.size());
    const std::size_t capacity = keys_.capacity();
    keys_.push_back(line);
    hashes_.push_back(h);
    slots_[i] = id + 1;
    if (keys_.size() * 2 > slots_.size()) grow();
    else if (keys_.capacity() != capacity) account();
    return id;
}

std::vector<std::uint32_t> LineInterner::intern(const std::vector<std::string_view>& lines) {
    std::vector<std::uint32_t> ids;
    ids.reserve(lines.size());
    InterruptTicker ticker(1 << 14);
    for (std::string_view l : lines) {
        ids.push_back(intern(l));
        ticker.tick();
    }
    return ids;
}

std::vector<std::uint32_t> LineInterner::intern_like(const std::vector<std::string_view>& lines,
                                                     const std::vector<std::string_view>& like,
                                                     const std::vector<std::uint32_t>& like_ids) {
    // Where each id occurs in `like`, for ids occurring there exactly once.
    constexpr std::uint32_t kNone = UINT32_MAX, kMany = UINT32_MAX - 1;
    std::vector<std::uint32_t> at(keys_.size(), kNone);
    memory::Charge at_charge(memory::vector_bytes(at.size(), sizeof(at[0])));
    for (std::size_t k = 0; k < like_ids.size(); ++k) {
        std::uint32_t& a = at[like_ids[k]];
        a = a == kNone ? static_cast<std::uint32_t>(k) : kMany;
    }
    std::vector<std::uint32_t> ids;
    ids.reserve(lines.size());
    InterruptTicker ticker(1 << 14);
    std::size_t j = 0;  // the line of `like` expected next
    for (std::string_view l : lines) {
        std::uint32_t id;
        if (j < like.size() && like[j] == l) {
            id = like_ids[j++];
        } else if (j + 1 < like.size() && like[j + 1] == l) {
            id = like_ids[j + 1];
            j += 2;
        } else {
            id = intern(l);
            if (id < at.size() && at[id] < kMany) j = at[id] + 1;
        }
        ids.push_back(id);
        ticker.tick();
    }
    return ids;
}

}  // namespace ce
