// Semantic warnings: a three-way merge that is clean although both sides changed
// lines of the same block (a function, a class, a Markdown section). The merge is
// right by git's rules; the warning tells the user to look at that block.
//
// Blocks are found in the base text by braces (C-like code), by indentation
// (Python, YAML) or by headings (Markdown). The changes are those the merge applied
// (MergeResult::changes): no second diff. Linear in the size of the texts; long
// loops tick the interrupt check. Pure C++17: no PostgreSQL header. See
// docs/reference/semantic.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/merge.hpp"

namespace ce {

enum class BlockStyle {
    none,         // no blocks, hence no warnings
    braces,       // { ... } outside comments, strings and character literals
    indentation,  // a line and the more-indented lines after it
    markdown,     // a heading and its section, up to the next heading of its level or above
};

// "none", "braces", "indentation", "markdown".
const char* block_style_name(BlockStyle style) noexcept;

// The block style of a file: from the extension of `path` when it is a known one
// (.c, .py, .md, ...; case-insensitive), else from the signals of `text`: lines
// opening or closing braces, lines ending with ':' before an indented line, Markdown
// headings followed by a blank line and code fences. None without a signal.
BlockStyle block_style_for(std::string_view path, std::string_view text);

// One block of a text; lines are 0-based and inclusive.
struct Block {
    long first;   // first line of the block (a Python decorator, a function's signature)
    long header;  // the line that names it (the def line, the statement before '{', the heading)
    long last;    // last line (the closing brace; the last indented line; the line before the next heading)
    int parent;   // the enclosing block (index), -1 at the top
    // A control statement (if, for, while, try, ...), a bare or nested literal '{', a
    // lambda or an indented continuation line: its lines count for the enclosing
    // block; it counts as a block of its own only when nothing encloses it.
    bool minor;
};

// The blocks of `lines` (split_lines of a text), a parent before its children,
// ordered by first line.
std::vector<Block> find_blocks(const std::vector<std::string_view>& lines, BlockStyle style);

// Longest block text reported (bytes; longer ones are cut at a UTF-8 character).
inline constexpr std::size_t kMaxBlockTextBytes = 200;

// The text of a block's header line for a warning: trimmed, valid UTF-8 (an
// invalid byte or a NUL becomes U+FFFD), cut to kMaxBlockTextBytes.
std::string semantic_header_text(std::string_view line);

struct SemanticWarning {
    std::string block;  // the block's header line in base, trimmed, valid UTF-8, cut to kMaxBlockTextBytes
    int base_line;      // 1-based line of the header in base
    int line;           // 1-based line of the header in the merged content (where it starts now)
    int ours_start, ours_count;      // the lines ours changed in the block: first and count, in ours
    int theirs_start, theirs_count;  // the same for theirs, in theirs
};

// The blocks of `base` in which both sides changed lines, given the merge of the
// three texts (merge3(base, ours, theirs)). Empty unless the merge met no conflict:
// clean, and no conflict region settled by favor or a hunk choice (favored == 0;
// those regions are conflicts, reported as such). A change belongs to the innermost
// block that encloses it (Block::minor blocks do not count); a change both sides
// made identically does not count.
std::vector<SemanticWarning> semantic_warnings(std::string_view base, std::string_view ours,
                                               std::string_view theirs, const MergeResult& merge,
                                               BlockStyle style);

// The warnings as a JSON array: [{"block", "kind", "base_line", "line", "ours_start",
// "ours_count", "theirs_start", "theirs_count"}, ...]; "[]" when there are none.
std::string semantic_warnings_json(const std::vector<SemanticWarning>& warnings, BlockStyle style);

}  // namespace ce
