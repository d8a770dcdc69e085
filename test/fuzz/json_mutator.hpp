// Deterministic generation and mutation of JSON documents driven by a byte stream.
// Shared by the json_merge fuzzer (bytes from libFuzzer) and the unit tests (bytes
// from a seeded PRNG). Mutations mimic what editors do to documents: change scalars
// (also re-spelling numbers, 1 -> 1.0), add/delete keys, insert/delete/move array
// elements, append objects with fresh ids to arrays of objects with ids.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "concurrent_edit/json.hpp"

namespace ce::json::testing {

class ByteSource {
public:
    ByteSource(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    std::uint8_t next() { return pos_ < size_ ? data_[pos_++] : 0; }
    std::size_t below(std::size_t n) { return n == 0 ? 0 : next() % n; }
    bool empty() const { return pos_ >= size_; }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

inline Value gen_scalar(ByteSource& src) {
    static const char* const numbers[] = {"0", "1", "1.0", "-2", "2.50", "1e2", "100", "12345678901234567890.5"};
    static const char* const strings[] = {"", "a", "b", "venue", "Sony A7", "caf\xc3\xa9", "x\"y", "line\n"};
    switch (src.below(5)) {
        case 0: return Value();
        case 1: return Value::boolean(src.below(2) == 1);
        case 2: return Value::number(numbers[src.below(8)]);
        default: return Value::string(strings[src.below(8)]);
    }
}

inline std::string gen_key(ByteSource& src) {
    static const char* const keys[] = {"a", "b", "c", "id", "name", "venue", "cameras", "sources", "tags", ""};
    return keys[src.below(10)];
}

inline Value gen_item_with_id(ByteSource& src, int id) {
    std::vector<Member> m{{"id", Value::number(id)}};
    if (src.below(2)) m.push_back({"name", gen_scalar(src)});
    if (src.below(3) == 0) m.push_back({"v", gen_scalar(src)});
    return Value::object(std::move(m));
}

inline Value gen_value(ByteSource& src, int depth) {
    if (depth <= 0) return gen_scalar(src);
    switch (src.below(6)) {
        case 0: {  // array of scalars or values
            std::vector<Value> items;
            for (std::size_t n = src.below(5); n > 0; --n) items.push_back(gen_value(src, depth - 1));
            return Value::array(std::move(items));
        }
        case 1: {  // array of objects with unique ids
            std::vector<Value> items;
            for (int n = static_cast<int>(src.below(5)), id = 1; n > 0; --n, ++id)
                items.push_back(gen_item_with_id(src, id));
            return Value::array(std::move(items));
        }
        case 2:
        case 3: {
            std::vector<Member> m;
            for (std::size_t n = src.below(5); n > 0; --n) m.push_back({gen_key(src), gen_value(src, depth - 1)});
            return Value::object(std::move(m));
        }
        default: return gen_scalar(src);
    }
}

// Highest numeric id among the elements (0 if none), to make fresh ids.
inline int max_id(const Value& array) {
    int best = 0;
    for (const Value& e : array.items())
        if (const Value* id = e.find("id"); id != nullptr && id->is_number())
            best = std::max(best, static_cast<int>(std::strtol(id->text().c_str(), nullptr, 10)));
    return best;
}

inline bool looks_like_id_array(const Value& array) {
    if (array.items().empty()) return false;
    for (const Value& e : array.items())
        if (e.find("id") == nullptr) return false;
    return true;
}

// One edit somewhere in `v`.
inline Value mutate_once(const Value& v, ByteSource& src, int depth = 0) {
    const std::size_t op = src.below(8);
    if (v.is_array() && depth < 8 && op < 6) {
        std::vector<Value> items = v.items();
        const std::size_t n = items.size();
        switch (op) {
            case 0:
            case 1:
                if (n > 0) {
                    std::size_t i = src.below(n);
                    items[i] = mutate_once(items[i], src, depth + 1);
                    break;
                }
                [[fallthrough]];
            case 2: {  // insert (fresh id when the array holds items with ids)
                Value e = looks_like_id_array(v) ? gen_item_with_id(src, max_id(v) + 1 + static_cast<int>(src.below(4)))
                                                 : gen_value(src, 1);
                items.insert(items.begin() + static_cast<long>(src.below(n + 1)), e);
                break;
            }
            case 3:  // delete
                if (n > 0) items.erase(items.begin() + static_cast<long>(src.below(n)));
                break;
            case 4:  // move one element
                if (n > 1) {
                    std::size_t i = src.below(n), j = src.below(n);
                    Value e = items[i];
                    items.erase(items.begin() + static_cast<long>(i));
                    items.insert(items.begin() + static_cast<long>(j), e);
                }
                break;
            default: {  // append
                Value e = looks_like_id_array(v) ? gen_item_with_id(src, max_id(v) + 1 + static_cast<int>(src.below(4)))
                                                 : gen_value(src, 1);
                items.push_back(e);
            }
        }
        return Value::array(std::move(items));
    }
    if (v.is_object() && depth < 8 && op < 6) {
        std::vector<Member> members = v.members();
        const std::size_t n = members.size();
        if ((op < 3) && n > 0) {
            std::size_t i = src.below(n);
            members[i].value = mutate_once(members[i].value, src, depth + 1);
        } else if (op < 5 || n == 0) {
            members.push_back({gen_key(src), gen_value(src, 2)});
        } else {
            members.erase(members.begin() + static_cast<long>(src.below(n)));
        }
        return Value::object(std::move(members));
    }
    if (v.is_number() && op == 6 && v.text().find_first_of("eE") == std::string::npos)  // same value, new spelling
        return Value::number(v.text() + (v.text().find('.') == std::string::npos ? ".0" : "0"));
    return gen_value(src, depth < 6 ? 2 : 0);
}

inline Value mutate(const Value& v, ByteSource& src) {
    Value out = v;
    for (std::size_t k = 1 + src.below(3); k > 0; --k) out = mutate_once(out, src);
    return out;
}

}  // namespace ce::json::testing
