// JSON text of the results of order_operations and resolve_operations.
#include <string>

#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/ops.hpp"

namespace ce::ops {

std::string json_quote(std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size() + 2);
    out.push_back('"');
    for (char ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out.push_back(hex[c >> 4]);
                    out.push_back(hex[c & 15]);
                } else {
                    out.push_back(ch);
                }
        }
    }
    out.push_back('"');
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

void append_list(std::string& out, const std::vector<std::string>& items) {
    out += "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ", ";
        out += items[i];
    }
    out += "]";
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

std::string order_json(const std::vector<Operation>& ops, const std::vector<std::size_t>& order) {
    std::string out = "[";
    InterruptTicker ticker;
    for (std::size_t i = 0; i < order.size(); ++i) {
        ticker.tick();
        if (i) out += ", ";
        out += ops[order[i]].json.empty() ? operation_json(ops[order[i]]) : ops[order[i]].json;
    }
    out += "]";
    return out;
}

std::string resolution_json(const std::vector<Operation>& ops, const Resolution& r) {
    InterruptTicker ticker;
    std::string out = "{\"policy\": " + json_quote(policy_name(r.policy)) + ", \"applied\": [";
    for (std::size_t i = 0; i < r.applied.size(); ++i) {
        ticker.tick();
        if (i) out += ", ";
        out += operation_json(ops[r.applied[i].op], &r.applied[i]);
    }
    out += "], \"rejected\": [";
    for (std::size_t i = 0; i < r.rejected.size(); ++i) {
        ticker.tick();
        const RejectedOp& x = r.rejected[i];
        if (i) out += ", ";
        out += "{\"op\": " + operation_json(ops[x.op]) + ", \"reason\": " + json_quote(x.reason) +
               ", \"conflict_type\": " + json_quote(conflict_type_name(x.type)) + ", \"conflicting_op\": " +
               (x.conflicting == kNoOp ? std::string("null") : operation_json(ops[x.conflicting])) + "}";
    }
    out += "], \"mapping\": {";
    bool first = true;
    for (const auto& [orig, entries] : r.mapping) {
        ticker.tick();
        if (!first) out += ", ";
        first = false;
        out += json_quote(orig) + ": ";
        std::vector<std::string> items;
        items.reserve(entries.size());
        for (const MappingEntry& e : entries) {
            items.push_back("{\"block_id\": " + json_quote(e.block_id) + ", \"from\": " + std::to_string(e.from) +
                            ", \"to\": " + (e.to ? std::to_string(*e.to) : "null") +
                            ", \"at\": " + (e.at ? std::to_string(*e.at) : "null") + "}");
        }
        append_list(out, items);
    }
    out += "}, \"blocks\": ";
    std::vector<std::string> blocks;
    blocks.reserve(r.blocks.size());
    for (const std::string& b : r.blocks) blocks.push_back(json_quote(b));
    append_list(out, blocks);
    out += "}";
    return out;
}

}  // namespace ce::ops
