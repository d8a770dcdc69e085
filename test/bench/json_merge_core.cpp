// Core benchmarks of the JSON merge, each beside a peer measured in the same run:
//   * merge3 of parsed documents vs parsing + printing the same three documents;
//   * the sequence diff (diff_match, linear-space Myers with cost limits) vs dtl::Diff.
// Usage: json_merge_core SECONDS_PER_CASE
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <dtl/dtl.hpp>

#include "concurrent_edit/json.hpp"
#include "concurrent_edit/json_merge.hpp"

using namespace ce::json;

namespace {

double budget = 1.0;
volatile std::size_t sink = 0;

// Best time per call of `fn` over runs of about budget/3 seconds each.
double per_call(const std::function<void()>& fn) {
    using clock = std::chrono::steady_clock;
    long n = 1;
    for (;;) {  // calibrate
        auto t0 = clock::now();
        for (long i = 0; i < n; ++i) fn();
        double s = std::chrono::duration<double>(clock::now() - t0).count();
        if (s > budget / 10 || n > (1L << 30)) break;
        n *= 2;
    }
    double best = 1e100;
    for (int run = 0; run < 3; ++run) {
        auto t0 = clock::now();
        for (long i = 0; i < n; ++i) fn();
        best = std::min(best, std::chrono::duration<double>(clock::now() - t0).count() / n);
    }
    return best;
}

void row(const char* workload, const char* ours_name, double ours, const char* peer_name, double peer) {
    std::printf("| %s | %s %.1f us | %s %.1f us | %.2f |\n", workload, ours_name, ours * 1e6, peer_name, peer * 1e6,
                ours / peer);
}

std::string production(int cameras, int sources, const char* extra_camera, const char* extra_source,
                       const char* venue) {
    std::string s = "{\"name\": \"Summer Festival 2026\", \"venue\": {\"name\": \"" + std::string(venue) +
                    "\", \"city\": \"Portland\", \"capacity\": 5000}, \"cameras\": [";
    for (int i = 1; i <= cameras; ++i)
        s += (i > 1 ? ", " : "") + std::string("{\"id\": \"cam-") + std::to_string(i) + "\", \"model\": \"Model " +
             std::to_string(i) + "\", \"operator\": \"Op " + std::to_string(i) + "\", \"lens\": 35.0}";
    if (*extra_camera) s += std::string(", ") + extra_camera;
    s += "], \"sources\": [";
    for (int i = 1; i <= sources; ++i)
        s += (i > 1 ? ", " : "") + std::string("{\"id\": \"src-") + std::to_string(i) + "\", \"name\": \"Feed " +
             std::to_string(i) + "\", \"type\": \"SDI\"}";
    if (*extra_source) s += std::string(", ") + extra_source;
    return s + "]}";
}

std::string item_list(int n, int edited, int added, int deleted) {
    std::string s = "{\"items\": [";
    bool first = true;
    for (int i = 1; i <= n + added; ++i) {
        if (i == deleted) continue;
        s += (first ? "" : ", ") + std::string("{\"id\": ") + std::to_string(i) + ", \"name\": \"item " +
             std::to_string(i) + "\", \"qty\": " + std::to_string(i == edited ? 99 : i % 7) + "}";
        first = false;
    }
    return s + "]}";
}

void json_case(const char* name, const std::string& b, const std::string& o, const std::string& t) {
    Value vb = parse(b), vo = parse(o), vt = parse(t);
    double merge = per_call([&] {
        MergeResult r = merge3(&vb, vo, vt);
        sink += r.content.depth() + r.conflicts.size();
    });
    double io = per_call([&] {
        Value x = parse(b), y = parse(o), z = parse(t);
        sink += to_string(x).size() + to_string(y).size() + to_string(z).size();
    });
    row(name, "merge3", merge, "parse+print of the 3 documents", io);
}

void diff_case(const char* name, std::size_t n, std::size_t edits, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<int> a(n);
    for (std::size_t i = 0; i < n; ++i) a[i] = static_cast<int>(i);
    std::vector<int> b = a;
    for (std::size_t k = 0; k < edits; ++k) {
        std::size_t at = rng() % b.size();
        switch (rng() % 3) {
            case 0: b[at] = -1 - static_cast<int>(k); break;
            case 1: b.erase(b.begin() + static_cast<long>(at)); break;
            default: b.insert(b.begin() + static_cast<long>(at), -1 - static_cast<int>(k));
        }
    }
    double ours = per_call([&] { sink += diff_match(a, b).size(); });
    double peer = per_call([&] {
        dtl::Diff<int> d(a, b);
        d.compose();
        sink += static_cast<std::size_t>(d.getEditDistance());
    });
    row(name, "diff_match", ours, "dtl::Diff", peer);
}

}  // namespace

int main(int argc, char** argv) {
    budget = argc > 1 ? std::atof(argv[1]) : 1.0;
    std::printf("| workload | concurrent_edit | peer | ratio |\n|---|---|---|---|\n");
    const char* cam = "{\"id\": \"cam-99\", \"model\": \"Sony A7\", \"operator\": \"Kevin\", \"lens\": 50}";
    const char* src = "{\"id\": \"src-99\", \"name\": \"Laptop 1\", \"type\": \"HDMI\"}";
    json_case("seed production (20 cameras, 20 sources, ~4 kB)", production(20, 20, "", "", "Riverside Park"),
              production(20, 20, cam, "", "Riverside Park"), production(20, 20, "", src, "North Gate"));
    json_case("list of 10000 items by id (~450 kB), edits on both sides", item_list(10000, 0, 0, 0),
              item_list(10000, 10, 1, 0), item_list(10000, 5000, 0, 9000));
    diff_case("sequence diff, 100000 elements, 100 edits", 100000, 100, 1);
    diff_case("sequence diff, 10000 elements, 2000 edits", 10000, 2000, 2);
    return sink == 42 ? 1 : 0;
}
