// Benchmark of the core three-way merge against libgit2's git_merge_file (the same
// xdiff merge as `git merge-file`), in the same run.
//
//   merge_bench IMPL CASE [RUNS]     IMPL: ce | ce-cold | libgit2, optionally + "-warm"
//   merge_bench dump CASE DIR         writes DIR/base, DIR/ours, DIR/theirs
//
// One process per (implementation, case), so getrusage's peak RSS belongs to that
// implementation alone. Prints one line:
//   IMPL CASE median_ms peak_rss_mb inputs_rss_mb conflicts output_hash mean_ms faults
// (inputs_rss_mb: resident size after the inputs were generated, before any merge;
// mean_ms: the mean of the runs, the statistic of a per-call time taken in SQL;
// faults: minor page faults per run, i.e. pages the merge got fresh from the system).
// The time is the merge call alone: hashing the output, counting its conflicts and
// freeing the result are outside it, for both implementations. Runs follow each other
// in one process under glibc's default malloc policy: memory freed by a run is
// reused by the next unless malloc returned it to the system (then the next run
// faults its pages in again). "-warm": malloc keeps freed memory (the thresholds
// concurrent_edit.retained_free_memory = 64MB sets), so no run pays page faults.
// ce-cold is ce with malloc_trim(0) before each run, so every merge starts on memory
// returned to the system, as it does in a backend under glibc's default policy.
#include <git2.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "concurrent_edit/merge.hpp"

namespace {

struct Inputs {
    std::string base, ours, theirs;
};

std::string join(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l;
    return s;
}

// A code-like text of n lines: mostly distinct lines, some braces and blank lines.
std::vector<std::string> code_text(int n, std::mt19937_64& rng) {
    std::vector<std::string> v;
    v.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        int r = static_cast<int>(rng() % 10);
        if (r == 0) v.push_back("\n");
        else if (r == 1) v.push_back("    }\n");
        else v.push_back("    value_" + std::to_string(i) + " = compute(" + std::to_string(rng() % 1000) + ");\n");
    }
    return v;
}

// `edits` scattered edits: 70% modify a line, 15% insert one, 15% delete one.
std::vector<std::string> scatter(std::vector<std::string> v, int edits, const char* side,
                                 std::mt19937_64& rng) {
    for (int e = 0; e < edits; ++e) {
        std::size_t pos = rng() % v.size();
        int op = static_cast<int>(rng() % 100);
        std::string line = std::string("    ") + side + "_edit_" + std::to_string(e) + "();\n";
        if (op < 70) v[pos] = line;
        else if (op < 85) v.insert(v.begin() + static_cast<long>(pos), line);
        else v.erase(v.begin() + static_cast<long>(pos));
    }
    return v;
}

Inputs make_case(const std::string& name) {
    std::mt19937_64 rng(12345);
    Inputs in;
    auto scattered = [&](int lines, int edits) {
        auto base = code_text(lines, rng);
        in.base = join(base);
        in.ours = join(scatter(base, edits, "ours", rng));
        in.theirs = join(scatter(base, edits, "theirs", rng));
    };
    if (name == "small") scattered(100, 2);
    else if (name == "a10") scattered(10000, 10);
    else if (name == "a100") scattered(10000, 100);
    else if (name == "a1000") scattered(10000, 1000);
    else if (name == "b2000") scattered(100000, 2000);
    else if (name == "rewrite") {
        // ours rewrites the whole 10,000-line file; theirs makes 100 edits.
        auto base = code_text(10000, rng);
        in.base = join(base);
        std::vector<std::string> other;
        for (int i = 0; i < 10000; ++i) other.push_back("rewritten line " + std::to_string(i) + "\n");
        in.ours = join(other);
        in.theirs = join(scatter(base, 100, "theirs", rng));
    } else if (name == "repeated") {
        // 5,000 lines drawn from four repeated lines; 100 edits per side.
        const char* pool[] = {"    }\n", "\n", "    return;\n", "  {\n"};
        std::vector<std::string> base;
        for (int i = 0; i < 5000; ++i) base.push_back(pool[rng() % 4]);
        in.base = join(base);
        auto edit = [&](const char* side) {
            std::vector<std::string> v = base;
            for (int e = 0; e < 100; ++e) {
                std::size_t pos = rng() % v.size();
                if (rng() % 2) v[pos] = pool[rng() % 4];
                else v.insert(v.begin() + static_cast<long>(pos), std::string(side) + "\n");
            }
            return join(v);
        };
        in.ours = edit("ours");
        in.theirs = edit("theirs");
    } else {
        std::fprintf(stderr, "unknown case %s\n", name.c_str());
        std::exit(2);
    }
    return in;
}

double rss_mb() {  // current resident set size
    std::ifstream f("/proc/self/statm");
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

std::uint64_t fnv(const char* p, std::size_t n) {
    std::uint64_t h = 1469598103934665603ULL;
    for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 1099511628211ULL;
    return h;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s ce|libgit2 CASE [RUNS]\n", argv[0]);
        return 2;
    }
    std::string impl = argv[1], name = argv[2];
    Inputs in = make_case(name);
    if (impl == "dump") {
        std::string dir = argc > 3 ? argv[3] : ".";
        std::ofstream(dir + "/base", std::ios::binary) << in.base;
        std::ofstream(dir + "/ours", std::ios::binary) << in.ours;
        std::ofstream(dir + "/theirs", std::ios::binary) << in.theirs;
        return 0;
    }
    int runs = argc > 3 ? std::atoi(argv[3]) : 11;
    const std::string warm = "-warm";
    if (impl.size() > warm.size() && impl.compare(impl.size() - warm.size(), warm.size(), warm) == 0) {
        impl.resize(impl.size() - warm.size());
        mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
        mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    }
    if (impl == "libgit2") git_libgit2_init();
    double inputs_rss = rss_mb();
    struct rusage before;
    getrusage(RUSAGE_SELF, &before);

    std::vector<double> times;
    int conflicts = 0;
    std::uint64_t hash = 0;
    for (int r = 0; r < runs; ++r) {
        if (impl == "ce-cold") malloc_trim(0);
        std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now(), t1;
        if (impl == "ce" || impl == "ce-cold") {
            ce::MergeResult m = ce::merge3(in.base, in.ours, in.theirs);
            t1 = std::chrono::steady_clock::now();
            conflicts = m.conflicts;
            hash = fnv(m.content.data(), m.content.size());
        } else {
            git_merge_file_input b = GIT_MERGE_FILE_INPUT_INIT, o = GIT_MERGE_FILE_INPUT_INIT,
                                 t = GIT_MERGE_FILE_INPUT_INIT;
            b.ptr = in.base.data();
            b.size = in.base.size();
            o.ptr = in.ours.data();
            o.size = in.ours.size();
            t.ptr = in.theirs.data();
            t.size = in.theirs.size();
            git_merge_file_options opts = GIT_MERGE_FILE_OPTIONS_INIT;
            opts.our_label = "ours";
            opts.their_label = "theirs";
            opts.flags = GIT_MERGE_FILE_SIMPLIFY_ALNUM;  // git merge-file's level
            git_merge_file_result res;
            if (git_merge_file(&res, &b, &o, &t, &opts) != 0) {
                std::fprintf(stderr, "git_merge_file failed\n");
                return 1;
            }
            t1 = std::chrono::steady_clock::now();
            // libgit2 does not return the conflict count; count "<<<<<<< " marker lines.
            conflicts = 0;
            for (const char* p = res.ptr; p != nullptr && p < res.ptr + res.len;) {
                if (std::strncmp(p, "<<<<<<< ", 8) == 0) ++conflicts;
                const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(res.ptr + res.len - p)));
                p = nl != nullptr ? nl + 1 : nullptr;
            }
            hash = fnv(res.ptr, res.len);
            git_merge_file_result_free(&res);
        }
        times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    double total = 0;
    for (double t : times) total += t;
    std::sort(times.begin(), times.end());
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    std::printf("%s %s %.3f %.1f %.1f %d %016llx %.4f %.0f\n", argv[1], name.c_str(), times[times.size() / 2],
                static_cast<double>(ru.ru_maxrss) / 1024.0, inputs_rss, conflicts,
                static_cast<unsigned long long>(hash), total / static_cast<double>(times.size()),
                static_cast<double>(ru.ru_minflt - before.ru_minflt) / static_cast<double>(runs));
    return 0;
}
