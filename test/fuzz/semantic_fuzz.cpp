// libFuzzer target for semantic warnings (built with ASan + UBSan).
//
// Input: one option byte, then base, ours and theirs separated by 0x00 bytes.
// Properties checked (abort on violation):
//   find_blocks, every style, on each text: blocks ordered by first line, first <=
//   header <= last inside the text, a parent before its child and around it;
//   block_style_for(path, text) never fails;
//   semantic_warnings(...) with the option's style: none unless the merge met no
//   conflict; each warning's lines inside base, content, ours and theirs; its
//   block text valid UTF-8, trimmed, at most kMaxBlockTextBytes (+ "..."); the
//   JSON parses to as many elements.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/json.hpp"
#include "concurrent_edit/lines.hpp"
#include "concurrent_edit/merge.hpp"
#include "concurrent_edit/semantic.hpp"
#include "three_texts.hpp"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

void check_blocks(std::string_view text, ce::BlockStyle style) {
    auto lines = ce::split_lines(text);
    const long n = static_cast<long>(lines.size());
    std::vector<ce::Block> blocks = ce::find_blocks(lines, style);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const ce::Block& b = blocks[i];
        check(0 <= b.first && b.first <= b.header && b.header <= b.last && b.last < n);
        if (i > 0) check(blocks[i - 1].first <= b.first);
        if (b.parent >= 0) {
            check(static_cast<std::size_t>(b.parent) < i);
            const ce::Block& p = blocks[static_cast<std::size_t>(b.parent)];
            check(p.first <= b.first && b.last <= p.last);
        }
    }
}

bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::uint8_t opt;
    std::string_view parts[3];
    if (!three_texts(data, size, opt, parts)) return 0;
    std::string_view base = parts[0], ours = parts[1], theirs = parts[2];

    const ce::BlockStyle styles[] = {ce::BlockStyle::none, ce::BlockStyle::braces, ce::BlockStyle::indentation,
                                     ce::BlockStyle::markdown};
    for (std::string_view t : parts)
        for (ce::BlockStyle s : styles) check_blocks(t, s);
    const char* paths[] = {"", "a.c", "b.py", "c.md", "d.txt", "e."};
    ce::block_style_for(paths[opt % 6], base);

    ce::BlockStyle style = (opt / 6) % 5 == 4 ? ce::block_style_for("", base) : styles[(opt / 6) % 5 % 4];
    ce::MergeOptions mo;
    mo.favor = static_cast<ce::MergeFavor>((opt / 30) % 4);
    ce::MergeResult m = ce::merge3(base, ours, theirs, mo);
    std::vector<ce::SemanticWarning> w = ce::semantic_warnings(base, ours, theirs, m, style);
    if (!m.clean || m.favored != 0 || style == ce::BlockStyle::none) check(w.empty());
    const long nb = static_cast<long>(ce::split_lines(base).size()), no = static_cast<long>(ce::split_lines(ours).size()),
               nt = static_cast<long>(ce::split_lines(theirs).size()),
               nm = static_cast<long>(ce::split_lines(m.content).size());
    for (const ce::SemanticWarning& x : w) {
        check(1 <= x.base_line && x.base_line <= nb);
        check(1 <= x.line && x.line <= nm + 1);
        check(x.ours_start >= 1 && x.ours_count >= 0 && x.ours_start - 1 + x.ours_count <= no);
        check(x.theirs_start >= 1 && x.theirs_count >= 0 && x.theirs_start - 1 + x.theirs_count <= nt);
        check(x.block.size() <= ce::kMaxBlockTextBytes + 3 && ce::json::valid_utf8(x.block));
        check(x.block.find('\0') == std::string::npos);
        check(x.block.empty() || (!space(x.block.front()) && !space(x.block.back())));
    }
    ce::json::Value v = ce::json::parse(ce::semantic_warnings_json(w, style));
    check(v.is_array() && v.items().size() == w.size());
    return 0;
}
