// JSON text of the results of order_operations and resolve_operations.
#include <string>

#include "concurrent_edit/json.hpp"
#include "concurrent_edit/ops.hpp"

namespace ce::ops {

std::string json_quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    json::append_json_string(out, s);
    return out;
}

namespace {

std::string fields_json(const Operation& op) {
    std::string s = "{\"opCode\": " + json_quote(op.op_code) + ", \"blockId\": " + json_quote(op.block_id) +
                    ", \"timestamp\": " +
                    (op.timestamp.is_clock ? op.timestamp.clock.to_text() : std::to_string(op.timestamp.lamport));
    if (op.replica_id) s += ", \"replicaId\": " + json_quote(*op.replica_id);
    if (op.offset) s += ", \"offset\": " + std::to_string(*op.offset);
    if (!op.dependencies.empty()) {
        s += ", \"dependencies\": [";
        for (std::size_t i = 0; i < op.dependencies.size(); ++i) s += (i ? ", " : "") + json_quote(op.dependencies[i]);
        s += "]";
    }
    if (op.target_block_id) s += ", \"targetBlockId\": " + json_quote(*op.target_block_id);
    s += "}";
    return s;
}

void append_member(std::string& object, const char* key, const std::string& value) {
    std::size_t close = object.rfind('}');
    if (close == std::string::npos) return;  // not an object: nothing to add to
    std::size_t last = object.find_last_not_of(" \t\r\n", close - 1);
    bool empty = last != std::string::npos && object[last] == '{';
    object.insert(close, std::string(empty ? "" : ", ") + json_quote(key) + ": " + value);
}

}  // namespace

std::string operation_json(const Operation& op, const AppliedOp* mapped) {
    std::string s = op.json.empty() ? fields_json(op) : op.json;
    if (mapped != nullptr) {
        if (mapped->block_id) append_member(s, "mappedBlockId", json_quote(*mapped->block_id));
        if (mapped->offset) append_member(s, "mappedOffset", std::to_string(*mapped->offset));
        if (mapped->target_block_id) append_member(s, "mappedTargetBlockId", json_quote(*mapped->target_block_id));
    }
    return s;
}

void JsonTextWriter::separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_.empty()) {
        if (!first_.back()) out_ += ", ";
        first_.back() = false;
    }
}

void JsonTextWriter::open(char c) {
    separate();
    out_.push_back(c);
    first_.push_back(true);
}

void JsonTextWriter::close(char c) {
    out_.push_back(c);
    first_.pop_back();
}

void JsonTextWriter::key(std::string_view k) {
    separate();
    out_ += json_quote(k);
    out_ += ": ";
    after_key_ = true;
}

void JsonTextWriter::string(std::string_view s) {
    separate();
    out_ += json_quote(s);
}

void JsonTextWriter::number(std::int64_t v) {
    separate();
    out_ += std::to_string(v);
}

void JsonTextWriter::null() {
    separate();
    out_ += "null";
}

void JsonTextWriter::operation(const std::vector<Operation>& ops, std::size_t index, const AppliedOp* mapped) {
    separate();
    out_ += operation_json(ops[index], mapped);
}

std::string order_json(const std::vector<Operation>& ops, const std::vector<std::size_t>& order) {
    JsonTextWriter w;
    write_order(w, ops, order);
    return w.text();
}

std::string resolution_json(const std::vector<Operation>& ops, const Resolution& r) {
    JsonTextWriter w;
    write_resolution(w, ops, r);
    return w.text();
}

}  // namespace ce::ops
