// Core benchmark of operation ordering (run by test/bench/ops.sh).
//
//   ops_bench order N RUNS       order_operations on N generated operations
//   ops_bench resolve N RUNS     resolve_operations (fail-closed) on the same set
//   ops_bench json N FILE        writes the set as a JSON array (for the SQL part)
//
// The set: N operations over N/100 blocks, 1/4 splits (each block split a few
// times at increasing offsets, so most splits are remapped), the rest text and
// mark edits at random offsets; Lamport timestamps with collisions, 8 replicas.
// Prints: mode N best_ms median_ms ns_per_op_log2 checksum
// (ns_per_op_log2 = best time / (N log2 N), flat for O(N log N) growth.)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "concurrent_edit/ops.hpp"

using namespace ce::ops;

namespace {

std::vector<Operation> generate(std::size_t n) {
    std::mt19937_64 rng(42);
    auto pick = [&](std::size_t k) { return std::uniform_int_distribution<std::size_t>(0, k - 1)(rng); };
    const std::size_t blocks = std::max<std::size_t>(1, n / 100);
    std::vector<Operation> ops(n);
    for (std::size_t i = 0; i < n; ++i) {
        Operation& o = ops[i];
        o.block_id = "block-" + std::to_string(pick(blocks));
        std::size_t kind = pick(4);
        o.op_code = kind == 0 ? "OP_BLOCK_SPLIT" : (kind == 1 ? "OP_MARK_EDIT" : "OP_TEXT_EDIT");
        o.offset = static_cast<std::int64_t>(pick(1000));
        o.timestamp = Timestamp::of_lamport(pick(n / 4 + 1));
        o.replica_id = "replica-" + std::to_string(pick(8));
        o.json = operation_json(o);  // what the SQL glue passes: the canonical text
    }
    return ops;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: ops_bench order|resolve N RUNS | json N FILE\n");
        return 2;
    }
    std::string mode = argv[1];
    std::size_t n = std::strtoull(argv[2], nullptr, 10);
    std::vector<Operation> ops = generate(n);
    if (mode == "json") {
        std::vector<std::size_t> all(n);
        for (std::size_t i = 0; i < n; ++i) all[i] = i;
        std::ofstream(argv[3]) << order_json(ops, all);
        return 0;
    }
    int runs = std::atoi(argv[3]);
    Priorities priorities;
    std::vector<double> times;
    std::size_t checksum = 0;
    for (int r = 0; r < runs; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        if (mode == "order") {
            std::vector<std::size_t> order = order_operations(ops, priorities);
            times.push_back(ms_since(t0));
            checksum = order.front() * 31 + order.back();
        } else {
            Resolution res = resolve_operations(ops, priorities, Policy::fail_closed);
            times.push_back(ms_since(t0));
            checksum = res.applied.size() * 1000003 + res.rejected.size() * 31 + res.blocks.size();
        }
    }
    std::sort(times.begin(), times.end());
    double best = times.front();
    double median = times[times.size() / 2];
    double per = best * 1e6 / (static_cast<double>(n) * std::log2(static_cast<double>(n)));
    std::printf("%s %zu %.3f %.3f %.2f %zu\n", mode.c_str(), n, best, median, per, checksum);
    return 0;
}
