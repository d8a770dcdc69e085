// Unit tests of semantic warnings (include/concurrent_edit/semantic.hpp): block
// styles, the blocks of real C, Python and Markdown files (test/data/semantic), the
// warnings of merges of their variants, and the bounds.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/json.hpp"
#include "concurrent_edit/lines.hpp"
#include "concurrent_edit/merge.hpp"
#include "concurrent_edit/semantic.hpp"
#include "test_util.hpp"

using ce::BlockStyle;
using ce::Errc;

namespace {

std::string data(const std::string& name) {
    std::ifstream in(std::string(CE_TEST_DATA) + "/semantic/" + name, std::ios::binary);
    EXPECT_TRUE(in.good()) << "missing test data " << name;
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<ce::SemanticWarning> warnings(const std::string& base, const std::string& ours, const std::string& theirs,
                                          BlockStyle style, ce::MergeFavor favor = ce::MergeFavor::none) {
    ce::MergeOptions o;
    o.favor = favor;
    ce::MergeResult m = ce::merge3(base, ours, theirs, o);
    return ce::semantic_warnings(base, ours, theirs, m, style);
}

// A block as "first-header-last minor?" with 1-based lines, and its header text.
std::string show(const std::vector<std::string_view>& lines, const ce::Block& b) {
    std::string h(lines[b.header]);
    while (!h.empty() && (h.back() == '\n' || h.back() == ' ')) h.pop_back();
    std::size_t k = h.find_first_not_of(' ');
    return std::to_string(b.first + 1) + "-" + std::to_string(b.header + 1) + "-" + std::to_string(b.last + 1) +
           (b.minor ? " minor " : " ") + h.substr(k == std::string::npos ? 0 : k);
}

// A warning as "block @base_line>line ours start+count theirs start+count".
std::string show(const ce::SemanticWarning& w) {
    auto n = [](int v) { return std::to_string(v); };
    return w.block + " @" + n(w.base_line) + ">" + n(w.line) + " ours " + n(w.ours_start) + "+" + n(w.ours_count) +
           " theirs " + n(w.theirs_start) + "+" + n(w.theirs_count);
}

std::vector<std::string> blocks_of(const std::string& text, BlockStyle style) {
    auto lines = ce::split_lines(text);
    std::vector<std::string> out;
    for (const ce::Block& b : ce::find_blocks(lines, style)) out.push_back(show(lines, b));
    return out;
}

}  // namespace

TEST(BlockStyle, FromTheExtensionThenFromTheContent) {
    EXPECT_EQ(ce::block_style_for("src/ini.c", ""), BlockStyle::braces);
    EXPECT_EQ(ce::block_style_for("include/INI.H", ""), BlockStyle::braces);
    EXPECT_EQ(ce::block_style_for("app/models.py", ""), BlockStyle::indentation);
    EXPECT_EQ(ce::block_style_for(".github/workflows/ci.yml", ""), BlockStyle::indentation);
    EXPECT_EQ(ce::block_style_for("docs/README.md", ""), BlockStyle::markdown);
    // The extension wins over the content; an unknown one leaves it to the content.
    EXPECT_EQ(ce::block_style_for("notes.md", data("base.c")), BlockStyle::markdown);
    EXPECT_EQ(ce::block_style_for("", data("base.c")), BlockStyle::braces);
    EXPECT_EQ(ce::block_style_for("ini.c.orig", data("base.c")), BlockStyle::braces);
    EXPECT_EQ(ce::block_style_for("", data("base.py")), BlockStyle::indentation);
    EXPECT_EQ(ce::block_style_for("Makefile.txt", data("base.md")), BlockStyle::markdown);
    EXPECT_EQ(ce::block_style_for(".bashrc", "plain words\nand more words\n"), BlockStyle::none);
    EXPECT_EQ(ce::block_style_for("", ""), BlockStyle::none);
    EXPECT_STREQ(ce::block_style_name(BlockStyle::indentation), "indentation");
}

TEST(Blocks, CFunctionsByBraces) {
    EXPECT_EQ(blocks_of(data("base.c"), BlockStyle::braces),
              (std::vector<std::string>{
                  "11-11-16 struct ini_entry {",
                  "18-18-31 static char *trim(char *s)",
                  "33-33-45 static int add_entry(struct ini *ini, const char *section, const char *key, const char *value)",
                  "47-47-68 static int parse_line(struct ini *ini, char *line, char *section, size_t section_size)",
                  "54-54-62 minor if (*s == '[') {",
                  "70-70-82 int ini_load(struct ini *ini, FILE *f)",
                  "76-76-80 minor while (fgets(line, sizeof(line), f) != NULL) {",
                  "84-84-92 const char *ini_get(const struct ini *ini, const char *section, const char *key)",
                  "94-94-108 void ini_free(struct ini *ini)",
                  "98-98-106 minor while (e != NULL) {",
              }));
}

TEST(Blocks, BracesSkipCommentsStringsAndDirectives) {
    const std::string c =
        "#define OPEN {\n"                      // 1: a directive
        "/* { not a block */\n"                 // 2
        "static const char *s = \"{\";\n"       // 3: a string
        "static const char c = '{';\n"          // 4: a character
        "int f(void) // {\n"                    // 5: a line comment
        "{\n"                                   // 6
        "    int a[] = {1, 2};\n"               // 7: an initializer: minor
        "    for (int i = 0; i < 2; i++) {\n"   // 8: control: minor
        "        g(a[i]);\n"                    // 9
        "    }\n"                               // 10
        "    return 0;\n"                       // 11
        "}\n";                                  // 12
    EXPECT_EQ(blocks_of(c, BlockStyle::braces),
              (std::vector<std::string>{"5-5-12 int f(void) // {", "7-7-7 minor int a[] = {1, 2};",
                                        "8-8-10 minor for (int i = 0; i < 2; i++) {"}));
    // C++: access specifiers and labels end a statement; a method is a block of its class.
    const std::string cpp = "class A {\npublic:\n    void f() {\n        x();\n    }\n};\n";
    EXPECT_EQ(blocks_of(cpp, BlockStyle::braces),
              (std::vector<std::string>{"1-1-6 class A {", "3-3-5 void f() {"}));
    // An unclosed block ends with the text; a stray '}' is ignored.
    EXPECT_EQ(blocks_of("}\nvoid f() {\n  x();\n", BlockStyle::braces),
              (std::vector<std::string>{"2-2-3 void f() {"}));
}

TEST(Blocks, PythonByIndentation) {
    EXPECT_EQ(blocks_of(data("base.py"), BlockStyle::indentation),
              (std::vector<std::string>{
                  "7-8-16 class Item:",
                  "15-15-16 def value(self):",
                  "19-19-46 class Inventory:",
                  "22-22-24 def __init__(self):",
                  "26-26-35 def add(self, item, quantity=1):",
                  "27-27-28 minor if quantity <= 0:",
                  "30-30-32 minor if current is None:",
                  "37-37-43 def remove(self, sku, quantity=1):",
                  "39-39-40 minor if quantity > item.stock:",
                  "45-45-46 def total_value(self):",
                  "49-49-55 def load_inventory(path):",
                  "51-51-54 minor with open(path, newline=\"\") as f:",
                  "52-52-54 minor for row in csv.DictReader(f):",
                  "58-58-63 def reorder_report(inventory, threshold=5):",
                  "60-60-62 minor for item in sorted(inventory.items.values(), key=lambda i: i.sku):",
                  "61-61-62 minor if item.stock < threshold:",
                  "66-66-69 minor if __name__ == \"__main__\":",
              }));
    // Comments, blank lines and the inside of a docstring do not end a block.
    const std::string py = "def f():\n    \"\"\"Doc.\n\nmore\n    \"\"\"\n# note\n    return 1\nx = 1\n";
    EXPECT_EQ(blocks_of(py, BlockStyle::indentation), (std::vector<std::string>{"1-1-7 def f():"}));
}

TEST(Blocks, MarkdownByHeadings) {
    EXPECT_EQ(blocks_of(data("base.md"), BlockStyle::markdown),
              (std::vector<std::string>{"1-1-43 # tidyfeed", "6-6-29 ## Installation", "10-10-19 ### Linux",
                                        "20-20-29 ### macOS", "30-30-40 ## Usage", "41-41-43 ## License"}));
    // Setext headings, front matter, "#tag" and a heading inside a fence.
    const std::string md = "---\ntitle: x\n---\nIntro\n=====\ntext\n#tag\n~~~\n# code\n~~~\nPart\n----\nend\n";
    EXPECT_EQ(blocks_of(md, BlockStyle::markdown),
              (std::vector<std::string>{"4-4-13 Intro", "11-11-13 Part"}));
}

TEST(SemanticWarnings, CBothSidesInOneFunction) {
    const std::string base = data("base.c"), ours = data("ours.c");
    auto w = warnings(base, ours, data("theirs_same_function.c"), BlockStyle::braces);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(show(w[0]),
              "static int parse_line(struct ini *ini, char *line, char *section, size_t section_size) @47>47 "
              "ours 52+1 theirs 67+2");
    // Sides swapped: the same block, the ranges swapped.
    auto s = warnings(base, data("theirs_same_function.c"), ours, BlockStyle::braces);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(show(s[0]),
              "static int parse_line(struct ini *ini, char *line, char *section, size_t section_size) @47>47 "
              "ours 67+2 theirs 52+1");
    // Different functions: the merge is as clean, nothing to tell.
    EXPECT_TRUE(warnings(base, ours, data("theirs_other_function.c"), BlockStyle::braces).empty());
}

TEST(SemanticWarnings, PythonBothSidesInOneMethod) {
    const std::string base = data("base.py"), ours = data("ours.py");
    auto w = warnings(base, ours, data("theirs_same_def.py"), BlockStyle::indentation);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(show(w[0]), "def add(self, item, quantity=1): @26>26 ours 27+2 theirs 34+1");  // not the if, not the class
    // Two methods of one class are two blocks.
    EXPECT_TRUE(warnings(base, ours, data("theirs_other_def.py"), BlockStyle::indentation).empty());
}

TEST(SemanticWarnings, MarkdownBothSidesInOneSection) {
    const std::string base = data("base.md"), ours = data("ours.md");
    auto w = warnings(base, ours, data("theirs_same_section.md"), BlockStyle::markdown);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(show(w[0]), "### Linux @10>10 ours 12+1 theirs 18+1");
    // Sibling subsections are two blocks (their parent section does not count).
    EXPECT_TRUE(warnings(base, ours, data("theirs_other_section.md"), BlockStyle::markdown).empty());
}

TEST(SemanticWarnings, NothingWithoutACleanMergeOrBlocks) {
    const std::string base = data("base.c"), ours = data("ours.c"), same = data("theirs_same_function.c");
    EXPECT_TRUE(warnings(base, ours, same, BlockStyle::none).empty());
    EXPECT_TRUE(warnings(base, ours, base, BlockStyle::braces).empty());  // one side unchanged
    EXPECT_TRUE(warnings(base, ours, ours, BlockStyle::braces).empty());  // the same change twice
    // A conflict is reported as a conflict, not as a warning.
    std::string other = base;
    other.replace(other.find("|| *s == '\\0')"), 15, "|| *s == 0)");
    ce::MergeResult m = ce::merge3(base, ours, other);
    ASSERT_FALSE(m.clean);
    EXPECT_TRUE(ce::semantic_warnings(base, ours, other, m, BlockStyle::braces).empty());
    // Nor when a favor settles a conflict (counted in favored, a conflict all the same),
    // although another edit of theirs in parse_line would warn on its own.
    std::string comment = base;
    comment.replace(comment.find("    *eq = '\\0';\n"), 0, "    /* key = value */\n");
    EXPECT_EQ(warnings(base, ours, comment, BlockStyle::braces).size(), 1u);
    std::string both = other;
    both.replace(both.find("    *eq = '\\0';\n"), 0, "    /* key = value */\n");
    ce::MergeOptions u;
    u.favor = ce::MergeFavor::union_;
    ce::MergeResult settled = ce::merge3(base, ours, both, u);
    ASSERT_TRUE(settled.clean);
    ASSERT_EQ(settled.favored, 1);
    EXPECT_TRUE(ce::semantic_warnings(base, ours, both, settled, BlockStyle::braces).empty());
}

TEST(SemanticWarnings, AnIdenticalChangeDoesNotCountButTheOthersDo) {
    auto f = [](const char* a, const char* c, const char* e) {
        return std::string("void f(void)\n{\n    ") + a + "();\n    b();\n    " + c + "();\n    d();\n    " + e +
               "();\n}\n";
    };
    const std::string base = f("a", "c", "e");
    EXPECT_TRUE(warnings(base, f("A", "c", "e"), f("A", "c", "e"), BlockStyle::braces).empty());
    // Theirs' only change is one ours made too.
    EXPECT_TRUE(warnings(base, f("A", "c", "E"), f("A", "c", "e"), BlockStyle::braces).empty());
    // Besides the common change, each side changed another line of f.
    auto w = warnings(base, f("A", "c", "E"), f("A", "C", "e"), BlockStyle::braces);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(show(w[0]), "void f(void) @1>1 ours 7+1 theirs 5+1");
}

TEST(SemanticWarnings, InsertionsBelongToTheBlockAroundThem) {
    // Python: a line appended at the end of a function body belongs to it; a new
    // function after it does not.
    const std::string base = "def f():\n    a = 1\n    return a\n\n\ndef g():\n    pass\n";
    const std::string ours = "def f():\n    a = 2\n    return a\n\n\ndef g():\n    pass\n";
    const std::string appended = "def f():\n    a = 1\n    return a\n    print(a)\n\n\ndef g():\n    pass\n";
    const std::string new_def = "def f():\n    a = 1\n    return a\n\n\ndef h():\n    pass\n\n\ndef g():\n    pass\n";
    auto w = warnings(base, ours, appended, BlockStyle::indentation);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(show(w[0]), "def f(): @1>1 ours 2+1 theirs 4+1");
    EXPECT_TRUE(warnings(base, ours, new_def, BlockStyle::indentation).empty());
    // C: a line before the closing brace is inside; a function after it is not.
    const std::string cb =
        "int f(void)\n{\n    int a = 1;\n    int b = 2;\n    return a + b;\n}\n\nint g(void)\n{\n    return 0;\n}\n";
    std::string co = cb, ci = cb, cn = cb;
    co.replace(co.find("a = 1"), 5, "a = 2");
    ci.replace(ci.find("    return a + b;\n"), 0, "    a++;\n");
    cn.replace(cn.find("\nint g"), 0, "\nint h(void)\n{\n    return 1;\n}\n");
    EXPECT_EQ(warnings(cb, co, ci, BlockStyle::braces).size(), 1u);
    EXPECT_TRUE(warnings(cb, co, cn, BlockStyle::braces).empty());
    // Markdown: a paragraph appended to a section belongs to it; a new section does not.
    const std::string mb = "# A\n\none\n\n# B\n\ntwo\n";
    const std::string mo = "# A\n\nONE\n\n# B\n\ntwo\n";
    const std::string mp = "# A\n\none\n\nmore\n\n# B\n\ntwo\n";
    const std::string ms = "# A\n\none\n\n# New\n\nnew\n\n# B\n\ntwo\n";
    EXPECT_EQ(warnings(mb, mo, mp, BlockStyle::markdown).size(), 1u);
    EXPECT_TRUE(warnings(mb, mo, ms, BlockStyle::markdown).empty());
}

TEST(SemanticWarnings, LineIsWhereTheBlockIsInTheMergedText) {
    // Ours inserts three lines above the function; theirs changes two of its lines.
    const std::string base = "int x;\n\nint f(void)\n{\n    a();\n    b();\n    c();\n}\n";
    const std::string ours = "int x;\nint y;\nint z;\nint w;\n\nint f(void)\n{\n    A();\n    b();\n    c();\n}\n";
    const std::string theirs = "int x;\n\nint f(void)\n{\n    a();\n    b();\n    C();\n}\n";
    auto w = warnings(base, ours, theirs, BlockStyle::braces);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(show(w[0]), "int f(void) @3>6 ours 8+1 theirs 7+1");
    EXPECT_EQ(ce::merge3(base, ours, theirs).content.find("int f(void)"),
              std::string("int x;\nint y;\nint z;\nint w;\n\n").size());
    // The header itself changed by one side: the line where its replacement starts.
    const std::string renamed = "int x;\n\nint f2(void)\n{\n    a();\n    b();\n    C();\n}\n";
    w = warnings(base, ours, renamed, BlockStyle::braces);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(show(w[0]), "int f(void) @3>6 ours 8+1 theirs 3+5");
}

TEST(SemanticWarnings, BlockTextIsTrimmedCutAndValidUtf8) {
    // The block of `header`, whose first line ours changes and whose last theirs does.
    auto both_change = [](const std::string& header) {
        const std::string base = header + "\n    a = 1\n    b = 2\n    c = 3\n";
        std::string ours = base, theirs = base;
        ours.replace(ours.find("a = 1"), 5, "a = 9");
        theirs.replace(theirs.find("c = 3"), 5, "c = 9");
        return warnings(base, ours, theirs, BlockStyle::indentation);
    };
    auto w = both_change("  def " + std::string(300, 'x') + "(\xff):");
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].block, "def " + std::string(ce::kMaxBlockTextBytes - 4, 'x') + "...");
    w = both_change("def f\xc3(\xff\xfe):");
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].block, "def f\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD):");
    std::string json = ce::semantic_warnings_json(w, BlockStyle::indentation);
    EXPECT_NO_THROW(ce::json::parse(json));
    // Invalid bytes near the limit: each becomes three bytes, and the text stays
    // within kMaxBlockTextBytes (and "...") (found by semantic_fuzz: 206 bytes).
    w = both_change("def g(" + std::string(150, '\xff') + "):");
    ASSERT_EQ(w.size(), 1u);
    EXPECT_LE(w[0].block.size(), ce::kMaxBlockTextBytes + 3);
    EXPECT_TRUE(ce::json::valid_utf8(w[0].block));
    EXPECT_EQ(w[0].block.substr(0, 9), "def g(\xEF\xBF\xBD");
    EXPECT_EQ(w[0].block.substr(w[0].block.size() - 3), "...");
}

TEST(SemanticWarnings, JsonShape) {
    EXPECT_EQ(ce::semantic_warnings_json({}, BlockStyle::braces), "[]");
    ce::SemanticWarning w{"int \"f\"(void)", 3, 5, 6, 1, 8, 2};
    EXPECT_EQ(ce::semantic_warnings_json({w}, BlockStyle::braces),
              "[{\"block\": \"int \\\"f\\\"(void)\", \"kind\": \"braces\", \"base_line\": 3, \"line\": 5, "
              "\"ours_start\": 6, \"ours_count\": 1, \"theirs_start\": 8, \"theirs_count\": 2}]");
}

namespace {

// n functions (C) of 4 lines; ours changes the first body line of each, theirs the last.
void functions(int n, std::string& base, std::string& ours, std::string& theirs) {
    for (int i = 0; i < n; ++i) {
        std::string f = "int f" + std::to_string(i) + "(void)\n{\n";
        base += f + "    a();\n    b();\n    c();\n}\n";
        ours += f + "    A();\n    b();\n    c();\n}\n";
        theirs += f + "    a();\n    b();\n    C();\n}\n";
    }
}

double seconds_of(const std::function<void()>& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST(SemanticWarnings, LinearOnLargeAndDeeplyNestedInputs) {
    // The analysis alone is timed; anything quadratic in these inputs takes minutes.
    auto timed = [](const std::string& b, const std::string& o, const std::string& t, BlockStyle style,
                    std::vector<ce::SemanticWarning>& w) {
        ce::MergeResult m = ce::merge3(b, o, t);
        EXPECT_TRUE(m.clean);
        return seconds_of([&] { w = ce::semantic_warnings(b, o, t, m, style); });
    };
    std::vector<ce::SemanticWarning> w;
    // 100,000 lines of functions, every one changed by both sides.
    std::string base, ours, theirs;
    functions(100000 / 6, base, ours, theirs);
    EXPECT_LT(timed(base, ours, theirs, BlockStyle::braces, w), 5.0);
    EXPECT_EQ(w.size(), static_cast<std::size_t>(100000 / 6));
    // 100,000 nested blocks, all closed on the last line; a change every other line.
    std::string nb, no, nt;
    for (int i = 0; i < 100000; ++i) {
        std::string l = "f" + std::to_string(i) + "() {\n";
        nb += l;
        no += i % 4 == 1 ? "g" + std::to_string(i) + "() {\n" : l;
        nt += i % 4 == 3 ? "h" + std::to_string(i) + "() {\n" : l;
    }
    for (std::string* s : {&nb, &no, &nt}) *s += std::string(100000, '}') + "\n";
    nt += "tail\n";  // an insertion after 100,000 blocks that end on one line
    EXPECT_LT(timed(nb, no, nt, BlockStyle::braces, w), 5.0);
    EXPECT_TRUE(w.empty());  // each change is in a block of its own
    // Indentation 0..199 deep in a staircase, and Markdown headings of every level.
    std::string ib, io, it, mb, mo, mt;
    for (int i = 0; i < 100000; ++i) {
        std::string pad(static_cast<std::size_t>(i % 200), ' ');
        ib += pad + "x" + std::to_string(i) + ":\n";
        io += pad + (i % 4 == 1 ? "y" : "x") + std::to_string(i) + ":\n";
        it += pad + (i % 4 == 3 ? "z" : "x") + std::to_string(i) + ":\n";
        std::string h = std::string(static_cast<std::size_t>(1 + i % 6), '#') + " h" + std::to_string(i) + "\n";
        mb += h;
        mo += i % 4 == 1 ? h + "o\n" : h;
        mt += i % 4 == 3 ? h + "t\n" : h;
    }
    EXPECT_LT(timed(ib, io, it, BlockStyle::indentation, w), 5.0);
    EXPECT_LT(timed(mb, mo, mt, BlockStyle::markdown, w), 5.0);
    // A long line of escaped quotes after a lone one: each quote must not search the
    // rest of the line again.
    std::string quotes = "f() {\n'";
    for (int i = 0; i < 200000; ++i) quotes += "\\'";
    quotes += " {\n}\n}\n";
    std::vector<std::string> blocks;
    EXPECT_LT(seconds_of([&] { blocks = blocks_of(quotes, BlockStyle::braces); }), 5.0);
    EXPECT_EQ(blocks.size(), 2u);
}

TEST(SemanticWarnings, LongAnalysisHonorsTheInterruptHook) {
    std::string base, ours, theirs;
    functions(50000, base, ours, theirs);
    ce::MergeResult m = ce::merge3(base, ours, theirs);
    ASSERT_TRUE(m.clean);
    EXPECT_CANCELED_BY_INTERRUPTS(ce::semantic_warnings(base, ours, theirs, m, BlockStyle::braces));
}
