#include "concurrent_edit/lines.hpp"

#include <algorithm>
#include <cstring>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"

namespace ce {

std::vector<std::string_view> split_lines(std::string_view text) {
    if (text.size() > kMaxTextBytes)
        throw Error(Errc::limit_exceeded, "text too large for a line diff",
                    Detail().add("bytes", text.size()).add("limit", kMaxTextBytes));
    const char* p = text.data();
    const char* end = p + text.size();
    // Count first, so the vector is allocated once (page faults are costly).
    std::size_t count = 0;
    for (const char* q = p; q < end; ++count) {
        const void* nl = std::memchr(q, '\n', static_cast<std::size_t>(end - q));
        q = nl != nullptr ? static_cast<const char*>(nl) + 1 : end;
    }
    if (count > kMaxLines)
        throw Error(Errc::limit_exceeded, "text has too many lines for a line diff",
                    Detail().add("lines", count).add("limit", kMaxLines));
    std::vector<std::string_view> lines;
    lines.reserve(count);
    InterruptTicker ticker(1 << 16);
    while (p < end) {
        const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
        const char* stop = nl != nullptr ? static_cast<const char*>(nl) + 1 : end;
        lines.emplace_back(p, static_cast<std::size_t>(stop - p));
        p = stop;
        ticker.tick();
    }
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
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
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
