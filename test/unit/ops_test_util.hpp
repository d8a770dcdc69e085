// Helpers shared by the GoogleTest suites of operation ordering and resolution
// (ops_test.cpp, ops_partial_test.cpp, ops_confirm_test.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "concurrent_edit/json.hpp"
#include "concurrent_edit/ops.hpp"
#include "concurrent_edit/vclock.hpp"

namespace ce::ops_test {

using namespace ce::ops;

// Operation builder: Op("OP_BLOCK_SPLIT", "X", 10).off(30).
struct Op {
    Operation o;
    Op(std::string code, std::string block, std::uint64_t ts) {
        o.op_code = std::move(code);
        o.block_id = std::move(block);
        o.timestamp = Timestamp::of_lamport(ts);
    }
    Op(std::string code, std::string block, ce::VClock clock) {
        o.op_code = std::move(code);
        o.block_id = std::move(block);
        o.timestamp = Timestamp::of_clock(std::move(clock));
    }
    Op& off(std::int64_t v) { o.offset = v; return *this; }
    Op& rep(std::string v) { o.replica_id = std::move(v); return *this; }
    Op& tgt(std::string v) { o.target_block_id = std::move(v); return *this; }
    Op& dep(std::string v) { o.dependencies.push_back(std::move(v)); return *this; }
    operator Operation() const { return o; }
};

inline const Priorities kDefault;

inline ce::VClock vc(const char* text) { return ce::VClock::parse(text); }

// Operations from a JSON array as a client sends them (the members the SQL glue
// reads; the glue's type checks are not repeated here). Each keeps its JSON text.
inline std::vector<Operation> ops_from_json(std::string_view text) {
    std::vector<Operation> ops;
    const ce::json::Value array = ce::json::parse(text);
    for (const ce::json::Value& v : array.items()) {
        Operation o;
        o.json = ce::json::to_string(v);
        o.op_code = v.find("opCode")->text();
        o.block_id = v.find("blockId")->text();
        const ce::json::Value* ts = v.find("timestamp");
        if (ts->is_number()) o.timestamp = Timestamp::of_lamport(std::stoull(ts->text()));
        else o.timestamp = Timestamp::of_clock(ce::VClock::parse(ts->is_string() ? ts->text() : ce::json::to_string(*ts)));
        if (const ce::json::Value* x = v.find("offset"); x && !x->is_null()) o.offset = std::stoll(x->text());
        if (const ce::json::Value* x = v.find("replicaId"); x && !x->is_null()) o.replica_id = x->text();
        if (const ce::json::Value* x = v.find("targetBlockId"); x && !x->is_null()) o.target_block_id = x->text();
        if (const ce::json::Value* x = v.find("dependencies"))
            for (const ce::json::Value& d : x->items()) o.dependencies.push_back(d.text());
        ops.push_back(std::move(o));
    }
    return ops;
}

// "BLOCK_SPLIT A@5" style labels of the ordered ops.
inline std::vector<std::string> labels(const std::vector<Operation>& ops, const std::vector<std::size_t>& order) {
    std::vector<std::string> out;
    for (std::size_t i : order) {
        const Operation& op = ops[i];
        std::string s = (op.op_code.rfind("OP_", 0) == 0 ? op.op_code.substr(3) : op.op_code) + " " + op.block_id + "@" +
                        (op.timestamp.is_clock ? op.timestamp.clock.to_text() : std::to_string(op.timestamp.lamport));
        if (op.replica_id) s += "/" + *op.replica_id;
        out.push_back(s);
    }
    return out;
}

inline std::vector<std::string> applied_labels(const std::vector<Operation>& ops, const Resolution& r) {
    std::vector<std::size_t> idx;
    for (const AppliedOp& a : r.applied) idx.push_back(a.op);
    return labels(ops, idx);
}

inline std::vector<std::string> rejected_labels(const std::vector<Operation>& ops, const Resolution& r) {
    std::vector<std::size_t> idx;
    for (const RejectedOp& x : r.rejected) idx.push_back(x.op);
    return labels(ops, idx);
}

using Strings = std::vector<std::string>;

}  // namespace ce::ops_test
