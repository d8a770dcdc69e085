// Line diffs of texts: diff_stat and unified_diff (git's format) on top of the
// line diff of diff.cpp.
#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/diff.hpp"
#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/lines.hpp"
#include "concurrent_edit/memory.hpp"

namespace ce {

namespace {

}  // namespace

LineDiff diff_lines(std::string_view old_text, std::string_view new_text, DiffAlgorithm algorithm) {
    LineDiff t;
    t.old_lines = split_lines(old_text);
    t.new_lines = split_lines(new_text);
    t.lines.resize((t.old_lines.size() + t.new_lines.size()) * (sizeof(std::string_view) + sizeof(std::uint32_t)));
    LineInterner interner(t.old_lines.size() + t.new_lines.size());
    auto a = interner.intern(t.old_lines);
    auto b = interner.intern(t.new_lines);
    t.changes = diff_ids(a.data(), a.size(), b.data(), b.size(), interner.size(), algorithm);
    return t;
}

namespace {

void check_label(std::string_view label, const char* what) {
    if (label.find_first_of("\r\n") != std::string_view::npos)
        throw Error(Errc::invalid_parameter, std::string(what) + " must not contain a line break",
                    Detail().add("argument", what));
}

void append_range(std::string& out, long start, long count) {
    // Unified diff convention: an empty range names the line before it.
    out += std::to_string(count > 0 ? start + 1 : start);
    if (count != 1) {
        out += ',';
        out += std::to_string(count);
    }
}

void append_line(std::string& out, char tag, std::string_view line) {
    out += tag;
    out.append(line.data(), line.size());
    if (line.empty() || line.back() != '\n') out += "\n\\ No newline at end of file\n";
}

}  // namespace

DiffStat diff_stat(std::string_view old_text, std::string_view new_text, DiffAlgorithm algorithm) {
    LineDiff t = diff_lines(old_text, new_text, algorithm);
    DiffStat s;
    for (const DiffChange& c : t.changes) {
        s.lines_removed += c.old_count;
        s.lines_added += c.new_count;
    }
    return s;
}

std::string unified_diff(std::string_view old_text, std::string_view new_text, int context,
                         std::string_view old_label, std::string_view new_label, DiffAlgorithm algorithm) {
    if (context < 0)
        throw Error(Errc::invalid_parameter, "context must not be negative",
                    Detail().add("argument", "context").add("value", context));
    check_label(old_label, "old_label");
    check_label(new_label, "new_label");
    LineDiff t = diff_lines(old_text, new_text, algorithm);
    std::string out;
    if (t.changes.empty()) return out;
    memory::Charge output;  // follows the output's growth (a hunk at a time)
    out += "--- ";
    out.append(old_label.data(), old_label.size());
    out += "\n+++ ";
    out.append(new_label.data(), new_label.size());
    out += '\n';

    const long ctx = context;
    const long n1 = static_cast<long>(t.old_lines.size());
    const auto& ch = t.changes;
    InterruptTicker ticker(1 << 12);
    std::size_t k = 0;
    while (k < ch.size()) {
        // A hunk takes every following change separated by at most 2 * context lines.
        std::size_t last = k;
        while (last + 1 < ch.size() &&
               ch[last + 1].old_start - (ch[last].old_start + ch[last].old_count) <= 2 * ctx)
            ++last;
        long s1 = std::max(0L, ch[k].old_start - ctx);
        long e1 = std::min(n1, ch[last].old_start + ch[last].old_count + ctx);
        long s2 = s1 + (ch[k].new_start - ch[k].old_start);
        long e2 = e1 + (ch[last].new_start + ch[last].new_count - ch[last].old_start -
                        ch[last].old_count);
        out += "@@ -";
        append_range(out, s1, e1 - s1);
        out += " +";
        append_range(out, s2, e2 - s2);
        out += " @@\n";
        long i1 = s1;
        for (std::size_t c = k; c <= last; ++c) {
            for (; i1 < ch[c].old_start; ++i1) append_line(out, ' ', t.old_lines[i1]);
            for (long i = 0; i < ch[c].old_count; ++i) append_line(out, '-', t.old_lines[i1 + i]);
            for (long i = 0; i < ch[c].new_count; ++i)
                append_line(out, '+', t.new_lines[ch[c].new_start + i]);
            i1 += ch[c].old_count;
            ticker.tick(static_cast<std::size_t>(ch[c].old_count + ch[c].new_count + 1));
        }
        for (; i1 < e1; ++i1) append_line(out, ' ', t.old_lines[i1]);
        output.resize(memory::string_bytes(out.capacity()));
        k = last + 1;
    }
    return out;
}

}  // namespace ce
