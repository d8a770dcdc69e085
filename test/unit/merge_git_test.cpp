// Differential tests: ce::merge3 against `git merge-file -p`, and ce::unified_diff
// against `git diff --no-index`, `git apply` and `patch`, on generated inputs.
//
// CE_MERGE_DIFF_ITERATIONS=N runs N merge triples (default 3000); CE_MERGE_DIFF_SEED=S
// starts from seed S; CE_MERGE_DIFF_KIND=unique|repeated|code|moves|large forces one
// generator. A failure prints the seed and the triple and keeps the inputs in
// /tmp/ce_merge_fail_SEED/.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "concurrent_edit/diff.hpp"
#include "concurrent_edit/lines.hpp"
#include "concurrent_edit/merge.hpp"

extern char** environ;

namespace {

// A scratch directory with a HOME of its own, so no user git config applies.
class Scratch {
public:
    Scratch() {
        char tmpl[] = "/tmp/ce_merge_git_XXXXXX";
        char* d = mkdtemp(tmpl);
        if (d == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = d;
    }
    ~Scratch() {
        std::string cmd = "rm -rf '" + dir_ + "'";
        if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir_.c_str());
    }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }
    const std::string& dir() const { return dir_; }

    void write(const std::string& name, const std::string& data) const {
        std::ofstream f(path(name), std::ios::binary | std::ios::trunc);
        f.write(data.data(), static_cast<std::streamsize>(data.size()));
    }
    std::string read(const std::string& name) const {
        std::ifstream f(path(name), std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    }

    // Runs argv with stdout to `out_name` (in the scratch dir); returns the exit status.
    int run(const std::vector<std::string>& args, const std::string& out_name) const {
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        std::vector<std::string> env_strings = {"HOME=" + dir_, "GIT_CONFIG_NOSYSTEM=1",
                                                "PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C"};
        std::vector<char*> envp;
        for (auto& e : env_strings) envp.push_back(e.data());
        envp.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        std::string out = path(out_name);
        posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addchdir_np(&fa, dir_.c_str());
        pid_t pid;
        int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) throw std::runtime_error("posix_spawnp failed for " + args[0]);
        int status = 0;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

private:
    std::string dir_;
};

bool have_tool(const char* name) {
    std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
}

// ---------------------------------------------------------------------------
// Generators.

struct Gen {
    std::mt19937_64 rng;
    explicit Gen(std::uint64_t seed) : rng(seed) {}
    int uni(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
    bool chance(int percent) { return uni(1, 100) <= percent; }

    std::string word() {
        static const char* words[] = {"alpha", "beta", "gamma", "delta", "return x;", "{", "}",
                                      "if (a) {", "int i = 0;", "// note", "foo(bar);", "end"};
        return words[uni(0, 11)];
    }
};

enum class Kind { unique, repeated, code, moves, large };
const char* kind_name(Kind k) {
    switch (k) {
        case Kind::unique: return "unique";
        case Kind::repeated: return "repeated";
        case Kind::code: return "code";
        case Kind::moves: return "moves";
        case Kind::large: return "large";
    }
    return "?";
}

std::vector<std::string> base_lines(Gen& g, Kind kind, int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i) {
        switch (kind) {
            case Kind::unique:
            case Kind::moves: v.push_back("line " + std::to_string(i) + " of the text\n"); break;
            case Kind::repeated: {
                static const char* alphabet[] = {"a\n", "b\n", "}\n", "\n", "x\n"};
                v.push_back(alphabet[g.uni(0, 4)]);
                break;
            }
            case Kind::code:
            case Kind::large: {
                int r = g.uni(0, 9);
                if (r < 2) v.push_back("\n");
                else if (r < 4) v.push_back("}\n");
                else v.push_back("    " + g.word() + " " + std::to_string(g.uni(0, 30)) + "\n");
                break;
            }
        }
    }
    return v;
}

std::string fresh_line(Gen& g, Kind kind, const char* side) {
    if (kind == Kind::repeated) {
        static const char* alphabet[] = {"a\n", "b\n", "}\n", "\n", "x\n", "y\n"};
        return alphabet[g.uni(0, 5)];
    }
    if ((kind == Kind::code || kind == Kind::large) && g.chance(30)) return g.chance(50) ? "}\n" : "\n";
    return std::string(side) + " " + g.word() + " " + std::to_string(g.uni(0, 999)) + "\n";
}

std::vector<std::string> edit(Gen& g, Kind kind, std::vector<std::string> v, const char* side) {
    // Large texts get many edits, so xdiff's cost cut-offs (edit cost > 256) are reached.
    int edits = kind == Kind::large ? g.uni(20, 400) : g.uni(0, 4);
    for (int e = 0; e < edits; ++e) {
        int op = g.uni(0, kind == Kind::moves || kind == Kind::large ? 4 : 3);
        int n = static_cast<int>(v.size());
        int pos = n == 0 ? 0 : g.uni(0, n - 1);
        int len = g.uni(1, 3);
        switch (op) {
            case 0:  // modify
                for (int k = 0; k < len && pos + k < n; ++k) v[pos + k] = fresh_line(g, kind, side);
                break;
            case 1:  // insert
                for (int k = 0; k < len; ++k)
                    v.insert(v.begin() + std::min(pos, static_cast<int>(v.size())),
                             fresh_line(g, kind, side));
                break;
            case 2:  // delete
                for (int k = 0; k < len && pos < static_cast<int>(v.size()); ++k) v.erase(v.begin() + pos);
                break;
            case 3:  // duplicate a line elsewhere (creates repeated content)
                if (n > 0) v.insert(v.begin() + g.uni(0, n), v[pos]);
                break;
            case 4: {  // move a block
                if (n < 2) break;
                int l = std::min(len, n - pos);
                std::vector<std::string> block(v.begin() + pos, v.begin() + pos + l);
                v.erase(v.begin() + pos, v.begin() + pos + l);
                int to = g.uni(0, static_cast<int>(v.size()));
                v.insert(v.begin() + to, block.begin(), block.end());
                break;
            }
        }
    }
    return v;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& l : v) s += l;
    return s;
}

std::string to_crlf(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

struct Triple {
    std::string base, ours, theirs;
    ce::MergeOptions options;
};

Triple make_triple(Gen& g, Kind kind) {
    int n = kind == Kind::large ? g.uni(300, 3000) : g.uni(0, 3) == 0 ? g.uni(0, 4) : g.uni(5, 40);
    auto b = base_lines(g, kind, n);
    Triple t;
    t.base = join(b);
    t.ours = join(edit(g, kind, b, "ours"));
    t.theirs = join(edit(g, kind, b, "theirs"));
    int variant = g.uni(0, 19);
    if (variant == 0) t.theirs = join(base_lines(g, Kind::unique, g.uni(0, 8)));  // full rewrite
    if (variant == 1) t.ours.clear();                                               // emptied
    if (variant == 2) t.base.clear();                                               // empty base
    if (variant == 3) {                                                             // CRLF everywhere
        t.base = to_crlf(t.base);
        t.ours = to_crlf(t.ours);
        t.theirs = to_crlf(t.theirs);
    }
    if (variant == 4) t.ours = to_crlf(t.ours);  // mixed line ends
    // Missing final newline on any input.
    for (std::string* s : {&t.base, &t.ours, &t.theirs})
        if (!s->empty() && s->back() == '\n' && g.chance(15)) {
            s->pop_back();
            if (!s->empty() && s->back() == '\r' && g.chance(50)) s->pop_back();
        }
    int style = g.uni(0, 5);
    t.options.style = style < 3 ? ce::MergeStyle::merge : style < 5 ? ce::MergeStyle::diff3 : ce::MergeStyle::zdiff3;
    int favor = g.uni(0, 9);
    t.options.favor = favor < 7 ? ce::MergeFavor::none
                      : favor == 7 ? ce::MergeFavor::ours
                      : favor == 8 ? ce::MergeFavor::theirs
                                   : ce::MergeFavor::union_;
    if (g.chance(15)) t.options.marker_size = g.uni(1, 12);
    if (g.chance(10)) {
        t.options.ours_label = "HEAD";
        t.options.base_label = "merged common ancestors";
        t.options.theirs_label = "feature/x y";
    }
    return t;
}

struct GitMerge {
    std::string content;
    int status;
};

GitMerge git_merge(const Scratch& s, const Triple& t) {
    s.write("base", t.base);
    s.write("ours", t.ours);
    s.write("theirs", t.theirs);
    std::vector<std::string> args = {"git", "-c", "merge.conflictStyle=merge", "merge-file", "-p",
                                     "-L", t.options.ours_label, "-L", t.options.base_label, "-L",
                                     t.options.theirs_label,
                                     "--marker-size=" + std::to_string(t.options.marker_size)};
    if (t.options.style == ce::MergeStyle::diff3) args.push_back("--diff3");
    if (t.options.style == ce::MergeStyle::zdiff3) args.push_back("--zdiff3");
    if (t.options.favor == ce::MergeFavor::ours) args.push_back("--ours");
    if (t.options.favor == ce::MergeFavor::theirs) args.push_back("--theirs");
    if (t.options.favor == ce::MergeFavor::union_) args.push_back("--union");
    args.insert(args.end(), {"ours", "base", "theirs"});
    int status = s.run(args, "out");
    return {s.read("out"), status};
}

std::string describe(const Triple& t) {
    auto q = [](const std::string& s) {
        std::string r = "\"";
        for (char c : s) {
            if (c == '\n') r += "\\n";
            else if (c == '\r') r += "\\r";
            else r += c;
        }
        return r + "\"";
    };
    const char* styles[] = {"merge", "diff3", "zdiff3"};
    const char* favors[] = {"none", "ours", "theirs", "union"};
    return "base=" + q(t.base) + "\nours=" + q(t.ours) + "\ntheirs=" + q(t.theirs) +
           "\nstyle=" + styles[static_cast<int>(t.options.style)] +
           " favor=" + favors[static_cast<int>(t.options.favor)] +
           " marker_size=" + std::to_string(t.options.marker_size);
}

std::uint64_t env_u64(const char* name, std::uint64_t dflt) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : dflt;
}

}  // namespace

TEST(MergeVsGit, GeneratedTriplesAreByteIdentical) {
    if (!have_tool("git")) GTEST_SKIP() << "git not installed";
    const std::uint64_t iterations = env_u64("CE_MERGE_DIFF_ITERATIONS", 3000);
    const std::uint64_t seed0 = env_u64("CE_MERGE_DIFF_SEED", 20240601);
    Scratch s;
    const Kind kinds[] = {Kind::unique, Kind::repeated, Kind::code, Kind::moves};
    std::map<std::string, int> runs, conflicted, failures;
    for (std::uint64_t it = 0; it < iterations; ++it) {
        std::uint64_t seed = seed0 + it;
        Gen g(seed);
        Kind kind = seed % 40 == 39 ? Kind::large : kinds[seed % 4];
        if (const char* k = std::getenv("CE_MERGE_DIFF_KIND"))
            for (Kind c : {Kind::unique, Kind::repeated, Kind::code, Kind::moves, Kind::large})
                if (std::strcmp(k, kind_name(c)) == 0) kind = c;
        Triple t = make_triple(g, kind);
        ce::MergeResult ours = ce::merge3(t.base, t.ours, t.theirs, t.options);
        GitMerge git = git_merge(s, t);
        ASSERT_GE(git.status, 0) << "git merge-file failed; seed " << seed;
        ++runs[kind_name(kind)];
        if (git.status > 0) ++conflicted[kind_name(kind)];
        bool same = ours.content == git.content && std::min(ours.conflicts, 127) == git.status;  // git caps its exit status
        if (!same) {
            ++failures[kind_name(kind)];
            // Keep the inputs for a closer look.
            std::string keep = "/tmp/ce_merge_fail_" + std::to_string(seed);
            mkdir(keep.c_str(), 0755);
            for (auto [name, text] : {std::pair{"base", &t.base}, {"ours", &t.ours}, {"theirs", &t.theirs}})
                std::ofstream(keep + "/" + name, std::ios::binary) << *text;
            ADD_FAILURE() << "differs from git merge-file; CE_MERGE_DIFF_SEED=" << seed
                          << " CE_MERGE_DIFF_ITERATIONS=1 (kind " << kind_name(kind) << ")\n"
                          << describe(t) << "\n--- git (status " << git.status << "):\n"
                          << git.content << "\n--- ours (conflicts " << ours.conflicts << "):\n"
                          << ours.content;
            if (failures[kind_name(kind)] > 3) return;
        }
        EXPECT_EQ(ours.clean, ours.conflicts == 0);
    }
    for (const auto& [k, n] : runs)
        std::printf("[ merge-file ] %-8s %5d triples, %5d with conflicts, %d differ\n", k.c_str(), n,
                    conflicted[k], failures[k]);
}

// Measures how often dtl's O(NP) core in place of the xdiff-compatible Myers core
// gives a different edit script (reported in docs/reference/merge.md), and
// asserts what both must give: a script that turns the base into the other text
// (the lines outside its changes equal, in order), dtl's never longer than
// Myers' (O(NP) is minimal on the reduced problem; Myers' cost cut-offs are not).
TEST(MergeVsGit, DtlCoreDisagreementRate) {
    auto script_ok = [](const std::vector<ce::DiffChange>& cs, const std::vector<std::uint32_t>& a,
                        const std::vector<std::uint32_t>& b) {
        long i = 0, j = 0;
        auto same_until = [&](long ai, long bj) {
            if (ai - i != bj - j || ai > static_cast<long>(a.size()) || bj > static_cast<long>(b.size())) return false;
            for (; i < ai; ++i, ++j)
                if (a[i] != b[j]) return false;
            return true;
        };
        for (const ce::DiffChange& c : cs) {
            if (c.old_start < i || c.new_start < j || c.old_count < 0 || c.new_count < 0) return false;
            if (!same_until(c.old_start, c.new_start)) return false;
            i += c.old_count;
            j += c.new_count;
        }
        return same_until(static_cast<long>(a.size()), static_cast<long>(b.size()));
    };
    auto edits = [](const std::vector<ce::DiffChange>& cs) {
        long n = 0;
        for (const ce::DiffChange& c : cs) n += c.old_count + c.new_count;
        return n;
    };
    const std::uint64_t iterations = env_u64("CE_MERGE_DIFF_ITERATIONS", 3000);
    const Kind kinds[] = {Kind::unique, Kind::repeated, Kind::code, Kind::moves};
    std::map<std::string, int> runs, differ;
    for (std::uint64_t it = 0; it < iterations; ++it) {
        Gen g(777 + it);
        Kind kind = it % 40 == 39 ? Kind::large : kinds[it % 4];
        Triple t = make_triple(g, kind);
        auto split = [](const std::string& s, ce::LineInterner& in) {
            return in.intern(ce::split_lines(s));
        };
        ce::LineInterner in;
        auto b = split(t.base, in), o = split(t.ours, in);
        auto m = ce::diff_ids(b.data(), b.size(), o.data(), o.size(), in.size(), ce::DiffAlgorithm::myers);
        auto d = ce::diff_ids(b.data(), b.size(), o.data(), o.size(), in.size(), ce::DiffAlgorithm::dtl_onp);
        ASSERT_TRUE(script_ok(m, b, o)) << "Myers' script does not turn base into ours; iteration " << it;
        ASSERT_TRUE(script_ok(d, b, o)) << "dtl's script does not turn base into ours; iteration " << it;
        EXPECT_LE(edits(d), edits(m)) << "iteration " << it;
        bool same = m.size() == d.size();
        for (std::size_t k = 0; same && k < m.size(); ++k)
            same = m[k].old_start == d[k].old_start && m[k].old_count == d[k].old_count &&
                   m[k].new_start == d[k].new_start && m[k].new_count == d[k].new_count;
        ++runs[kind_name(kind)];
        if (!same) ++differ[kind_name(kind)];
    }
    for (const auto& [k, n] : runs)
        std::printf("[ dtl O(NP) ] %-8s %5d diffs, %5d differ from xdiff's edit script (%.1f%%)\n",
                    k.c_str(), n, differ[k], 100.0 * differ[k] / n);
}

TEST(DiffVsGit, HunksMatchGitDiffAndApply) {
    if (!have_tool("git")) GTEST_SKIP() << "git not installed";
    const bool have_patch = have_tool("patch");  // comes with build-essential (dpkg-dev)
    const std::uint64_t iterations = env_u64("CE_MERGE_DIFF_ITERATIONS", 3000) / 10;
    Scratch s;
    const Kind kinds[] = {Kind::unique, Kind::repeated, Kind::code, Kind::moves};
    int failures = 0;
    for (std::uint64_t it = 0; it < iterations && failures < 3; ++it) {
        Gen g(99 + it);
        Triple t = make_triple(g, kinds[it % 4]);
        int context = g.uni(0, 4);
        std::string d = ce::unified_diff(t.base, t.ours, context, "a/f", "b/f");
        // Same hunks as git diff --no-index (headers differ).
        s.write("old", t.base);
        s.write("new", t.ours);
        s.run({"git", "diff", "--no-index", "--no-color", "--no-indent-heuristic",
               "--diff-algorithm=myers", "-U" + std::to_string(context), "old", "new"},
              "gitdiff");
        std::string gd = s.read("gitdiff");
        auto hunks = [](const std::string& x) {
            auto p = x.find("\n@@ ");
            if (x.rfind("@@ ", 0) == 0) return x;
            if (p == std::string::npos) return std::string();
            std::string h = x.substr(p + 1);
            // git appends a function-name context after "@@"; drop it.
            std::string out;
            std::istringstream in(h);
            std::string line;
            while (std::getline(in, line)) {
                if (line.rfind("@@ ", 0) == 0) line = line.substr(0, line.find(" @@", 3) + 3);
                out += line + "\n";
            }
            return out;
        };
        std::string ours_h = hunks(d), git_h = hunks(gd);
        if (ours_h != git_h) {
            ++failures;
            ADD_FAILURE() << "diff differs from git diff; seed " << 99 + it << "\n"
                          << describe(t) << "\n--- git:\n" << gd << "\n--- ours:\n" << d;
            continue;
        }
        if (d.empty()) continue;
        // patch and git apply both reproduce the new text.
        s.write("p.diff", d);
        int rc;
        if (have_patch) {
            s.write("f", t.base);
            rc = s.run({"patch", "-s", "-p1", "-i", "p.diff", "f"}, "patch.out");
            EXPECT_EQ(rc, 0) << "patch rejected the diff; seed " << 99 + it << "\n" << d;
            EXPECT_EQ(s.read("f"), t.ours) << "patch result differs; seed " << 99 + it;
        }
        s.write("f", t.base);
        // Like any -U0 diff, a diff without context needs --unidiff-zero for git apply.
        std::vector<std::string> apply = {"git", "apply", "p.diff"};
        if (context == 0) apply.insert(apply.begin() + 2, "--unidiff-zero");
        rc = s.run(apply, "apply.out");
        EXPECT_EQ(rc, 0) << "git apply rejected the diff; seed " << 99 + it << "\n" << d;
        EXPECT_EQ(s.read("f"), t.ours) << "git apply result differs; seed " << 99 + it;
    }
}
