// The blocks of a text for semantic warnings (include/concurrent_edit/semantic.hpp):
// braces for C-like code, indentation for Python and YAML, headings for Markdown,
// and the choice among them from a path's extension or the text's signals. Every
// scan is one pass over the lines with a stack of open blocks.
#include <algorithm>
#include <initializer_list>
#include <utility>

#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/semantic.hpp"
#include "semantic_internal.hpp"

namespace ce {

const char* block_style_name(BlockStyle style) noexcept {
    switch (style) {
        case BlockStyle::braces: return "braces";
        case BlockStyle::indentation: return "indentation";
        case BlockStyle::markdown: return "markdown";
        case BlockStyle::none: break;
    }
    return "none";
}

namespace {

constexpr std::string_view::size_type npos = std::string_view::npos;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
bool is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
           static_cast<unsigned char>(c) >= 0x80;
}
bool is_ident(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

std::string_view trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    return s.substr(b, e - b);
}

// The identifier that starts s (after spaces), or "".
std::string_view first_word(std::string_view s) {
    s = trim(s);
    std::size_t e = 0;
    if (!s.empty() && is_ident_start(s[0]))
        while (e < s.size() && is_ident(s[e])) ++e;
    return s.substr(0, e);
}

bool one_of(std::string_view w, std::initializer_list<std::string_view> words) {
    return std::find(words.begin(), words.end(), w) != words.end();
}

// Statements whose braces or indented body belong to the enclosing block.
bool brace_control(std::string_view w) {
    return one_of(w, {"if", "else", "for", "foreach", "while", "do", "switch", "case", "default", "try", "catch",
                      "finally", "loop", "match", "select", "synchronized", "unsafe", "using", "lock", "with",
                      "when", "unless", "until", "elif", "defer", "go"});
}
bool indent_control(std::string_view w) {
    return one_of(w, {"if", "elif", "else", "for", "while", "try", "except", "finally", "with", "match", "case"});
}

// Columns of leading white space (a tab advances to the next multiple of 8), or -1
// for a line that is blank or, with skip_comments, a '#' comment.
long indentation(std::string_view s, bool skip_comments) {
    long col = 0;
    for (char c : s) {
        if (c == ' ') ++col;
        else if (c == '\t') col = (col / 8 + 1) * 8;
        else if (c == '\r' || c == '\n' || c == '\f' || c == '\v') continue;
        else return skip_comments && c == '#' ? -1 : col;
    }
    return -1;
}

// ---------------------------------------------------------------------------
// Braces.

bool ends_with_backslash(std::string_view s) {
    s = trim(s);
    return !s.empty() && s.back() == '\\';
}

// A C preprocessor line ('#' and a directive; CSS's "#id {" is not one).
bool is_directive(std::string_view t) {
    if (t.empty() || t[0] != '#') return false;
    return one_of(first_word(t.substr(1)), {"include", "define", "undef", "if", "ifdef", "ifndef", "elif", "else",
                                            "endif", "pragma", "error", "warning", "line", "import", "region",
                                            "endregion"});
}

// The index of the quote closing the one at s[k] on this line, or npos.
std::size_t closing_quote(std::string_view s, std::size_t k) {
    for (std::size_t j = k + 1; j < s.size(); ++j) {
        if (s[j] == '\\') ++j;
        else if (s[j] == s[k]) return j;
    }
    return npos;
}

// A header more lines above its '{' than this is not taken (the '{' line is).
constexpr long kMaxHeaderLines = 16;

class BraceScanner {
public:
    explicit BraceScanner(const std::vector<std::string_view>& lines) : lines_(lines) {}

    std::vector<Block> run() {
        InterruptTicker ticker;
        const long n = static_cast<long>(lines_.size());
        for (long l = 0; l < n; ++l) {
            std::string_view s = lines_[l];
            ticker.tick(s.size() + 1);
            if (!in_comment_ && !in_template_) {
                if (directive_continues_ || is_directive(trim(s))) {
                    directive_continues_ = ends_with_backslash(s);
                    continue;
                }
            }
            bool significant = false;
            for (std::size_t k = 0; k < s.size();) k = step(s, k, l, significant);
            if (!significant && paren_ == 0 && !in_template_) pending_ = false;  // blank or comment-only line
        }
        for (const auto& o : open_) blocks_[o.first].last = n - 1;  // unclosed: to the end
        return std::move(blocks_);
    }

private:
    // Reads the token at s[k] of line l; returns where the next one starts.
    std::size_t step(std::string_view s, std::size_t k, long l, bool& significant) {
        char c = s[k];
        if (in_comment_) {
            std::size_t e = s.find("*/", k);
            if (e == npos) return s.size();
            in_comment_ = false;
            return e + 2;
        }
        if (in_template_) {
            for (std::size_t j = k; j < s.size(); ++j) {
                if (s[j] == '\\') ++j;
                else if (s[j] == '`') {
                    in_template_ = false;
                    return j + 1;
                }
            }
            return s.size();
        }
        if (c == '/' && k + 1 < s.size() && s[k + 1] == '/') return s.size();
        if (c == '/' && k + 1 < s.size() && s[k + 1] == '*') {
            in_comment_ = true;
            return k + 2;
        }
        if (is_space(c)) return k + 1;
        significant = true;
        if (c == '{') {
            open_block(l);
            return k + 1;
        }
        if (c == '}') {
            close_block(l);
            return k + 1;
        }
        if (!pending_) {
            pending_ = true;
            stmt_line_ = l;
            stmt_word_ = {};
            words_ = 0;
            last_ = before_last_ = 0;
        }
        if (c == '"' || (c == '\'' && lone_quote_line_ != l)) {
            std::size_t e = closing_quote(s, k);
            if (e != npos || c == '"') {
                note('"');
                return e == npos ? s.size() : e + 1;
            }
            // A lone ' (a lifetime, an apostrophe) is an ordinary character, and so is
            // every later ' of the line (none closes it): each line is searched once.
            lone_quote_line_ = l;
        }
        if (c == '`') {
            in_template_ = true;
            note('"');
            return k + 1;
        }
        if (is_ident_start(c)) {
            std::size_t e = k;
            while (e < s.size() && is_ident(s[e])) ++e;
            std::string_view w = s.substr(k, e - k);
            if (words_++ == 0) stmt_word_ = w;
            last_word_ = w;
            note('a');
            return e;
        }
        switch (c) {
            case '(': case '[': ++paren_; break;
            case ')': case ']': paren_ = std::max(0, paren_ - 1); break;
            case ';':
                if (paren_ == 0) pending_ = false;
                break;
            case ':':
                // A label, case or access specifier ends its statement ("public:", "case 1:").
                if (paren_ == 0 && last_ != ':' && !(k + 1 < s.size() && s[k + 1] == ':') &&
                    ((words_ == 1 && last_ == 'a') || one_of(stmt_word_, {"case", "default"}))) {
                    pending_ = false;
                    return k + 1;
                }
                break;
            default: break;
        }
        note(c);
        return k + 1;
    }

    void note(char c) {
        before_last_ = last_;
        last_ = c;
    }

    void open_block(long l) {
        long header = pending_ ? stmt_line_ : l;
        if (l - header > kMaxHeaderLines) header = l;
        const bool lambda = last_ == '>' && before_last_ == '=';
        const bool minor = !pending_ || paren_ > 0 || brace_control(stmt_word_) || lambda ||
                           (last_ != 0 && std::string_view("=,([?").find(last_) != npos) ||
                           (last_ == 'a' && last_word_ == "return");
        int parent = open_.empty() ? -1 : open_.back().first;
        blocks_.push_back(Block{header, header, l, parent, minor});
        open_.emplace_back(static_cast<int>(blocks_.size() - 1), paren_);
        paren_ = 0;
        pending_ = false;
    }

    void close_block(long l) {
        if (!open_.empty()) {
            blocks_[open_.back().first].last = l;
            paren_ = open_.back().second;
            open_.pop_back();
        }
        pending_ = false;
    }

    const std::vector<std::string_view>& lines_;
    std::vector<Block> blocks_;
    std::vector<std::pair<int, int>> open_;  // open blocks: index, parenthesis depth around it
    bool in_comment_ = false, in_template_ = false, directive_continues_ = false;
    long lone_quote_line_ = -1;              // the line where a ' was found unclosed
    int paren_ = 0;                          // ( and [ depth in the current block
    bool pending_ = false;                   // a statement has started
    long stmt_line_ = 0;                     // its first line
    std::string_view stmt_word_, last_word_;  // its first and last words
    int words_ = 0;                          // its number of words
    char last_ = 0, before_last_ = 0;        // its last two tokens ('a' for a word, '"' for a string)
};

// ---------------------------------------------------------------------------
// Indentation.

// The quote of the triple-quoted string still open after line s ('"' or '\''), or 0.
char triple_quote_state(std::string_view s, char open) {
    for (std::size_t k = 0; k + 2 < s.size(); ++k) {
        char c = s[k];
        if ((c == '"' || c == '\'') && s[k + 1] == c && s[k + 2] == c) {
            if (open == 0) open = c;
            else if (open == c) open = 0;
            k += 2;
        } else if (open == 0 && c == '#') {
            break;
        }
    }
    return open;
}

// A Python comment is cut off (outside quotes).
std::string_view without_comment(std::string_view s) {
    char quote = 0;
    for (std::size_t k = 0; k < s.size(); ++k) {
        char c = s[k];
        if (quote != 0) {
            if (c == '\\') ++k;
            else if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '#') {
            return s.substr(0, k);
        }
    }
    return s;
}

bool indent_minor(std::string_view header) {
    std::string_view t = trim(without_comment(header));
    if (t.empty() || t.back() != ':') return true;  // a continuation line, a list item
    std::string_view w = first_word(t);
    if (w == "async") w = first_word(t.substr(5));
    return indent_control(w);
}

std::vector<Block> indentation_blocks(const std::vector<std::string_view>& lines) {
    InterruptTicker ticker;
    std::vector<Block> blocks;
    std::vector<std::pair<int, long>> open;  // open blocks: index, indentation of the header
    long prev = -1, prev_indent = 0;         // the last line that counts
    char in_string = 0;
    const long n = static_cast<long>(lines.size());
    for (long l = 0; l < n; ++l) {
        std::string_view s = lines[l];
        ticker.tick(s.size() + 1);
        const bool inside_string = in_string != 0;
        in_string = triple_quote_state(s, in_string);
        long d = inside_string ? -1 : indentation(s, true);
        if (d < 0) continue;  // blank, comment, or the inside of a string
        if (prev >= 0 && d > prev_indent) {
            long first = prev;  // decorators above a def or class belong to it
            while (first > 0 && indentation(lines[first - 1], false) == prev_indent &&
                   !trim(lines[first - 1]).empty() && trim(lines[first - 1])[0] == '@')
                --first;
            int parent = open.empty() ? -1 : open.back().first;
            blocks.push_back(Block{first, prev, prev, parent, indent_minor(lines[prev])});
            open.emplace_back(static_cast<int>(blocks.size() - 1), prev_indent);
        } else {
            while (!open.empty() && open.back().second >= d) {
                blocks[open.back().first].last = prev;
                open.pop_back();
            }
        }
        prev = l;
        prev_indent = d;
    }
    for (const auto& o : open) blocks[o.first].last = prev;
    return blocks;
}

// ---------------------------------------------------------------------------
// Markdown.

// Level of an ATX heading ("## Title"), else 0.
int atx_level(std::string_view s) {
    std::size_t k = 0;
    while (k < s.size() && k < 3 && s[k] == ' ') ++k;
    int level = 0;
    while (k < s.size() && s[k] == '#' && level < 7) {
        ++level;
        ++k;
    }
    if (level == 0 || level > 6) return 0;
    return k == s.size() || is_space(s[k]) ? level : 0;
}

// The fence a line opens or closes ("```", "~~~~"...), or "".
std::string_view fence_of(std::string_view s) {
    std::size_t k = 0;
    while (k < s.size() && k < 3 && s[k] == ' ') ++k;
    std::size_t e = k;
    while (e < s.size() && (s[e] == '`' || s[e] == '~') && s[e] == s[k]) ++e;
    return e - k >= 3 ? s.substr(k, e - k) : std::string_view();
}

// 1 for a "===" underline, 2 for "---", else 0 (a setext heading's second line).
int setext_level(std::string_view s) {
    if (indentation(s, false) >= 4) return 0;
    std::string_view t = trim(s);
    if (t.size() < 2 || (t[0] != '=' && t[0] != '-')) return 0;
    for (char c : t)
        if (c != t[0]) return 0;
    return t[0] == '=' ? 1 : 2;
}

// A paragraph line that a setext underline makes a heading.
bool setext_text(std::string_view s) {
    std::string_view t = trim(s);
    if (t.empty() || indentation(s, false) >= 4 || atx_level(s) != 0 || !fence_of(s).empty()) return false;
    if (t[0] == '>' || t[0] == '|' || ((t[0] == '-' || t[0] == '*' || t[0] == '+') && t.size() > 1 && t[1] == ' '))
        return false;
    return true;
}

std::vector<Block> markdown_blocks(const std::vector<std::string_view>& lines) {
    InterruptTicker ticker;
    const long n = static_cast<long>(lines.size());
    long l = 0;
    if (n > 0 && trim(lines[0]) == "---") {  // YAML front matter
        for (long k = 1; k < n; ++k)
            if (trim(lines[k]) == "---" || trim(lines[k]) == "...") {
                l = k + 1;
                break;
            }
    }
    std::vector<Block> blocks;
    std::vector<std::pair<int, int>> open;  // open sections: index, level
    std::string_view fence;
    for (; l < n; ++l) {
        std::string_view s = lines[l];
        ticker.tick(s.size() + 1);
        std::string_view f = fence_of(s);
        if (!fence.empty()) {  // a closing fence: the same character, at least as long, nothing after
            if (!f.empty() && f[0] == fence[0] && f.size() >= fence.size() && trim(s).size() == f.size()) fence = {};
            continue;
        }
        if (!f.empty()) {
            fence = f;
            continue;
        }
        int level = atx_level(s);
        const bool setext = level == 0 && l + 1 < n && setext_text(s) && setext_level(lines[l + 1]) != 0;
        if (setext) level = setext_level(lines[l + 1]);
        if (level == 0) continue;
        while (!open.empty() && open.back().second >= level) {
            blocks[open.back().first].last = l - 1;
            open.pop_back();
        }
        int parent = open.empty() ? -1 : open.back().first;
        blocks.push_back(Block{l, l, l, parent, false});
        open.emplace_back(static_cast<int>(blocks.size() - 1), level);
        if (setext) ++l;  // the underline
    }
    for (const auto& o : open) blocks[o.first].last = n - 1;
    return blocks;
}

// ---------------------------------------------------------------------------
// Choosing the style.

BlockStyle style_of_extension(std::string_view path) {
    std::size_t slash = path.find_last_of("/\\");
    std::string_view name = slash == npos ? path : path.substr(slash + 1);
    std::size_t dot = name.rfind('.');
    if (dot == npos || dot == 0 || dot + 1 == name.size() || name.size() - dot > 10) return BlockStyle::none;
    std::string ext;
    for (char c : name.substr(dot + 1)) ext += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (one_of(ext, {"md", "markdown", "mdown", "mkd", "mkdn", "mdx"})) return BlockStyle::markdown;
    if (one_of(ext, {"py", "pyi", "pyw", "yaml", "yml"})) return BlockStyle::indentation;
    if (one_of(ext, {"c",  "h",    "cc",    "cpp",   "cxx",  "c++", "hpp", "hh",   "hxx",  "h++", "ino",
                     "cs", "java", "kt",    "kts",   "scala", "groovy", "gradle", "js", "mjs", "cjs", "jsx",
                     "ts", "tsx",  "go",    "rs",    "swift", "dart", "php", "css", "scss", "less", "m",
                     "mm", "proto", "json", "jsonc"}))
        return BlockStyle::braces;
    return BlockStyle::none;
}

}  // namespace

std::vector<Block> find_blocks(const std::vector<std::string_view>& lines, BlockStyle style) {
    switch (style) {
        case BlockStyle::braces: return BraceScanner(lines).run();
        case BlockStyle::indentation: return indentation_blocks(lines);
        case BlockStyle::markdown: return markdown_blocks(lines);
        case BlockStyle::none: break;
    }
    return {};
}

bool detail::continues_block(BlockStyle style, std::string_view header, std::string_view line) {
    switch (style) {
        case BlockStyle::indentation: {
            long d = indentation(line, false);
            return d >= 0 && d > indentation(header, false);
        }
        case BlockStyle::markdown: return atx_level(line) == 0;
        default: return false;
    }
}

BlockStyle block_style_for(std::string_view path, std::string_view text) {
    BlockStyle by_name = style_of_extension(path);
    if (by_name != BlockStyle::none) return by_name;
    // Signals, counted outside Markdown code fences, one line behind (a signal may
    // need the next line).
    long braces = 0, indented = 0, markdown = 0;
    std::string_view prev, fence;
    bool prev_counts = false;
    InterruptTicker ticker;
    auto line_signals = [&](std::string_view s, bool last) {
        std::string_view t = trim(s);
        if (prev_counts) {
            std::string_view p = trim(prev);
            long pi = indentation(prev, false), si = indentation(s, false);
            if (!p.empty() && p.back() == ':' && si > pi) ++indented;
            if (atx_level(prev) != 0 && t.empty()) ++markdown;
            if (setext_text(prev) && setext_level(s) != 0) ++markdown;
        }
        prev_counts = false;
        std::string_view f = fence_of(s);
        if (!f.empty()) {
            ++markdown;
            fence = fence.empty() ? f : std::string_view();
        } else if (fence.empty()) {
            if (!t.empty() && (t.back() == '{' || t[0] == '}')) ++braces;
            if (last && atx_level(s) != 0) ++markdown;
            prev_counts = true;
        }
        prev = s;
    };
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t e = text.find('\n', pos);
        std::size_t end = e == npos ? text.size() : e + 1;
        ticker.tick(end - pos);
        line_signals(text.substr(pos, end - pos), end == text.size());
        pos = end;
    }
    long best = std::max({braces, indented, markdown});
    if (best == 0) return BlockStyle::none;
    if (braces == best) return BlockStyle::braces;
    if (indented == best) return BlockStyle::indentation;
    return BlockStyle::markdown;
}

}  // namespace ce
