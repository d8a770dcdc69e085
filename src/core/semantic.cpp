// Semantic warnings (include/concurrent_edit/semantic.hpp): the blocks of the base
// in which both sides of a clean merge changed lines. The blocks come from
// semantic_blocks.cpp, the changes from the merge itself (MergeResult::changes).
//
// Each base line gets its innermost block, by one sweep over the blocks (ordered by
// first line) with a stack; a change is attributed to the blocks of the base lines
// it replaces, each line visited once per side; an insertion to the innermost block
// around the gap it fills. Linear in the number of lines.
#include <algorithm>
#include <array>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/json.hpp"
#include "concurrent_edit/lines.hpp"
#include "concurrent_edit/memory.hpp"
#include "concurrent_edit/semantic.hpp"
#include "semantic_internal.hpp"

namespace ce {

// The text of a block's header line for a warning: trimmed, cut, valid UTF-8 (an
// invalid byte or a NUL becomes U+FFFD).
std::string semantic_header_text(std::string_view line) {
    std::size_t b = 0, e = line.size();
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; };
    while (b < e && space(line[b])) ++b;
    while (e > b && space(line[e - 1])) --e;
    std::string_view text = line.substr(b, e - b);
    // Invalid bytes (and NULs) become U+FFFD before the cut, not after it: each
    // takes three bytes, so replacing them after the cut could pass the limit. The
    // replacing stops once past the limit (a line may be megabytes long).
    std::string out;
    for (std::size_t i = 0; i < text.size() && out.size() <= kMaxBlockTextBytes;) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        std::size_t n = c < 0x80 ? (c == 0 ? 0 : 1) : json::utf8_sequence(text, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(text, i, n);
            i += n;
        }
    }
    return excerpt(out, kMaxBlockTextBytes);
}

namespace {

constexpr int kOurs = 0, kTheirs = 1;

// The lines one side changed in a block: [start, end) in that side's numbering (0-based).
struct Span {
    long start = -1, end = -1;
    bool set() const { return start >= 0; }
    void add(long s, long e) {
        if (!set()) {
            start = s;
            end = e;
        } else {
            start = std::min(start, s);
            end = std::max(end, e);
        }
    }
};


class Analysis {
public:
    Analysis(std::string_view base, std::string_view ours, std::string_view theirs, BlockStyle style)
        : style_(style) {
        base_ = split_lines(base);
        sides_[kOurs] = split_lines(ours);
        sides_[kTheirs] = split_lines(theirs);
        charge_.resize(memory::vector_bytes(base_.size() + sides_[0].size() + sides_[1].size(),
                                            sizeof(std::string_view)));
        blocks_ = find_blocks(base_, style);
        const std::size_t n = base_.size(), nb = blocks_.size();
        charge_.resize(charge_.bytes() + memory::vector_bytes(nb, sizeof(Block)) + memory::vector_bytes(n, sizeof(int)) +
                       memory::vector_bytes(nb, sizeof(int) + sizeof(std::array<Span, 2>)));
        attr_.resize(nb);
        for (std::size_t b = 0; b < nb; ++b) {
            int p = blocks_[b].parent;
            attr_[b] = blocks_[b].minor && p >= 0 ? attr_[p] : static_cast<int>(b);
        }
        inner_.assign(n, -1);
        std::vector<int> stack;
        std::size_t next = 0;
        for (std::size_t l = 0; l < n; ++l) {
            ticker_.tick();
            while (!stack.empty() && blocks_[stack.back()].last < static_cast<long>(l)) stack.pop_back();
            while (next < nb && blocks_[next].first <= static_cast<long>(l)) stack.push_back(static_cast<int>(next++));
            while (!stack.empty() && blocks_[stack.back()].last < static_cast<long>(l)) stack.pop_back();
            inner_[l] = stack.empty() ? -1 : stack.back();
        }
        spans_.resize(nb);
    }

    bool has_blocks() const { return !blocks_.empty(); }

    // Attributes one side's part of a change to the blocks it touches.
    void add(const MergeChange& c, int side) {
        const long n = static_cast<long>(base_.size());
        const long start = (side == kOurs ? c.ours_start : c.theirs_start) - 1;
        const long count = side == kOurs ? c.ours_count : c.theirs_count;
        long bs = c.base_start - 1, be = bs + c.base_count;
        if (bs < 0 || be > n || start < 0) return;
        if (c.base_count == 0) {
            std::string_view inserted;
            if (count > 0 && start < static_cast<long>(sides_[side].size())) inserted = sides_[side][start];
            int b = insertion_block(bs, inserted);
            if (b >= 0) spans_[b][side].add(start, start + count);
            return;
        }
        // Each base line is visited once per side (a change whose lines were all seen
        // is attributed by its first line).
        long from = std::max(bs, cursor_[side]), to = be;
        if (from >= to) {
            from = bs;
            to = bs + 1;
        }
        int prev = -2;
        for (long l = from; l < to; ++l) {
            ticker_.tick();
            int b = inner_[l] < 0 ? -1 : attr_[inner_[l]];
            if (b >= 0 && b != prev) spans_[b][side].add(start, start + count);
            prev = b;
        }
        cursor_[side] = std::max(cursor_[side], be);
    }

    std::vector<SemanticWarning> warnings(const std::vector<MergeChange>& changes) {
        std::vector<SemanticWarning> out;
        for (std::size_t b = 0; b < blocks_.size(); ++b) {
            ticker_.tick();
            const auto& s = spans_[b];
            if (!s[kOurs].set() || !s[kTheirs].set()) continue;
            const long h = blocks_[b].header;
            SemanticWarning w;
            w.block = semantic_header_text(base_[h]);
            w.base_line = static_cast<int>(h + 1);
            w.line = static_cast<int>(merged_line(changes, h) + 1);
            w.ours_start = static_cast<int>(s[kOurs].start + 1);
            w.ours_count = static_cast<int>(s[kOurs].end - s[kOurs].start);
            w.theirs_start = static_cast<int>(s[kTheirs].start + 1);
            w.theirs_count = static_cast<int>(s[kTheirs].end - s[kTheirs].start);
            out.push_back(std::move(w));
        }
        return out;
    }

private:
    // The block an insertion before base line s belongs to: the innermost block that
    // holds lines s - 1 and s; at the end of an indented block or a Markdown section,
    // the block the inserted line continues (more indented than its header; not a heading).
    int insertion_block(long s, std::string_view inserted) const {
        if (s <= 0) return -1;
        const int inner = inner_[s - 1];
        int holder = inner;
        while (holder >= 0 && blocks_[holder].last < s) holder = blocks_[holder].parent;
        if (style_ != BlockStyle::braces && !inserted.empty())
            for (int e = inner; e >= 0 && e != holder; e = blocks_[e].parent)
                if (detail::continues_block(style_, base_[blocks_[e].header], inserted)) return attr_[e];
        return holder < 0 ? -1 : attr_[holder];
    }

    // The 0-based line of the merged content where base line h is (or the start of
    // the change that replaced it).
    long merged_line(const std::vector<MergeChange>& changes, long h) {
        if (order_.empty() && !changes.empty()) {
            order_.resize(changes.size());
            for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
            std::stable_sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) {
                return changes[a].base_start < changes[b].base_start;
            });
        }
        auto it = std::upper_bound(order_.begin(), order_.end(), h, [&](long v, std::size_t i) {
            return v < changes[i].base_start - 1;
        });
        if (it == order_.begin()) return h;
        const MergeChange& c = changes[*(it - 1)];
        const long bs = c.base_start - 1, be = bs + c.base_count;
        if (h < be) return c.merged_start - 1;
        return h + (c.merged_start - 1 + c.merged_count) - be;
    }

    BlockStyle style_;
    std::vector<std::string_view> base_;
    std::array<std::vector<std::string_view>, 2> sides_;
    std::vector<Block> blocks_;
    std::vector<int> attr_;   // block -> the block its lines count for
    std::vector<int> inner_;  // base line -> innermost block, -1 outside every block
    std::vector<std::array<Span, 2>> spans_;
    std::vector<std::size_t> order_;  // changes by base line
    long cursor_[2] = {0, 0};
    memory::Charge charge_;
    InterruptTicker ticker_;
};

}  // namespace

std::vector<SemanticWarning> semantic_warnings(std::string_view base, std::string_view ours,
                                               std::string_view theirs, const MergeResult& merge,
                                               BlockStyle style) {
    if (!merge.clean || merge.favored != 0 || style == BlockStyle::none) return {};
    bool side[2] = {false, false};
    for (const MergeChange& c : merge.changes) {
        if (c.side == MergeChange::Side::ours || c.side == MergeChange::Side::both) side[kOurs] = true;
        if (c.side == MergeChange::Side::theirs || c.side == MergeChange::Side::both) side[kTheirs] = true;
    }
    if (!side[kOurs] || !side[kTheirs]) return {};
    Analysis a(base, ours, theirs, style);
    if (!a.has_blocks()) return {};
    for (const MergeChange& c : merge.changes) {
        if (c.side != MergeChange::Side::theirs && c.side != MergeChange::Side::same) a.add(c, kOurs);
        if (c.side != MergeChange::Side::ours && c.side != MergeChange::Side::same) a.add(c, kTheirs);
    }
    return a.warnings(merge.changes);
}

std::string semantic_warnings_json(const std::vector<SemanticWarning>& warnings, BlockStyle style) {
    std::string s = "[";
    for (std::size_t i = 0; i < warnings.size(); ++i) {
        const SemanticWarning& w = warnings[i];
        if (i) s += ", ";
        s += "{\"block\": ";
        json::append_json_string(s, w.block);
        s += ", \"kind\": \"";
        s += block_style_name(style);
        s += "\", \"base_line\": " + std::to_string(w.base_line) + ", \"line\": " + std::to_string(w.line) +
             ", \"ours_start\": " + std::to_string(w.ours_start) + ", \"ours_count\": " + std::to_string(w.ours_count) +
             ", \"theirs_start\": " + std::to_string(w.theirs_start) +
             ", \"theirs_count\": " + std::to_string(w.theirs_count) + "}";
    }
    return s + "]";
}

}  // namespace ce
