// A small immutable JSON value type with jsonb semantics, a strict parser and a printer.
//
// * Values are immutable handles to shared nodes: copying is O(1), and a merge result
//   shares the unchanged subtrees of its inputs.
// * Objects hold unique keys in jsonb order: shorter keys first, then bytewise
//   (key_less). Duplicate keys given to Value::object() or the parser: the last wins,
//   as in jsonb.
// * Numbers keep their exact decimal text (no precision is ever lost) and compare by
//   numeric value, as jsonb numerics do: 1.0 == 1.00 == 1e0, -0 == 0.
// * Every node caches its hash (consistent with ==) and its nesting depth. Input
//   (parser, Builder, merge3) is limited to kMaxDepth levels; no value at all can be
//   built deeper than kMaxDepth + kDepthHeadroom (ce::Error limit_exceeded), so every
//   recursion over values is bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "concurrent_edit/memory.hpp"

namespace ce::json {

// Deepest nesting of arrays and objects accepted as input ([[1]] has depth 2).
constexpr std::size_t kMaxDepth = 1000;
// Extra levels values may have beyond kMaxDepth, so that results can wrap input
// values (a conflict report holds them two levels down).
constexpr std::size_t kDepthHeadroom = 16;

enum class Kind : std::uint8_t { null, boolean, number, string, array, object };

const char* kind_name(Kind kind) noexcept;

struct Member;
struct Node;

class Value {
public:
    Value() noexcept = default;  // JSON null

    static Value boolean(bool b);
    // `text` must be a JSON number (RFC 8259 grammar): ce::Error invalid_json otherwise,
    // out_of_range when its exponent is beyond +-10^9. `origin` is an opaque tag kept
    // with the number and ignored by comparison and hashing: the PostgreSQL glue tags
    // each number with the jsonb numeric it was read from, so that writing it back
    // (also from a merge result, which shares the node) needs no conversion.
    static Value number(std::string_view text, const void* origin = nullptr);
    static Value number(long long n);
    static Value string(std::string s);  // UTF-8 is not checked here (the parser checks)
    static Value array(std::vector<Value> items);
    // Sorts the members into key order; of duplicate keys the last one is kept.
    static Value object(std::vector<Member> members);

    Kind kind() const noexcept;
    bool is_null() const noexcept { return kind() == Kind::null; }
    bool is_bool() const noexcept { return kind() == Kind::boolean; }
    bool is_number() const noexcept { return kind() == Kind::number; }
    bool is_string() const noexcept { return kind() == Kind::string; }
    bool is_array() const noexcept { return kind() == Kind::array; }
    bool is_object() const noexcept { return kind() == Kind::object; }
    bool is_container() const noexcept { return is_array() || is_object(); }

    bool as_bool() const noexcept;                // false unless a true boolean
    const std::string& text() const noexcept;     // string contents or number text; "" otherwise
    const std::vector<Value>& items() const noexcept;     // array elements; empty otherwise
    const std::vector<Member>& members() const noexcept;  // object members in key order
    const Value* find(std::string_view key) const noexcept;  // object member or nullptr
    const void* origin() const noexcept;  // a number's tag (see number()); nullptr otherwise

    std::uint64_t hash() const noexcept;  // equal values have equal hashes
    std::size_t depth() const noexcept;   // 0 for scalars, 1 for [] and {}, ...
    // True when both handles share one node (then they are identical).
    bool same_node(const Value& other) const noexcept { return node_ == other.node_; }

private:
    explicit Value(std::shared_ptr<const Node> node) noexcept : node_(std::move(node)) {}
    std::shared_ptr<const Node> node_;  // nullptr is JSON null
};

struct Member {
    std::string key;
    Value value;
};

// jsonb key order: shorter first, then bytewise.
bool key_less(std::string_view a, std::string_view b) noexcept;

// jsonb equality: numbers by value, strings bytewise, objects by key set and values.
bool operator==(const Value& a, const Value& b);
inline bool operator!=(const Value& a, const Value& b) { return !(a == b); }
// Equal and spelled identically (numbers compared as text: 1.0 is not identical to 1.00).
bool identical(const Value& a, const Value& b);

// True when `text` is a JSON number (RFC 8259 grammar).
bool is_number_text(std::string_view text) noexcept;

// Compares number texts by value (both must be valid JSON numbers).
bool number_equal(std::string_view a, std::string_view b);

// Prints in jsonb's text style: {"a": 1, "b": [true, null]}. Strings are escaped as in
// jsonb (", \, and control characters); other bytes are copied as they are.
std::string to_string(const Value& v);

// Appends `s` as a JSON string literal, escaped as jsonb's output does (", \, control
// characters); other bytes are copied as they are. Shared by every JSON the code prints.
void append_json_string(std::string& out, std::string_view s);

// Appends the JSON escape of code point `cp` (at most 0x10FFFF): \u00e9, and above
// U+FFFF a UTF-16 surrogate pair (U+E0001 is \udb40\udc01; JSON's \u takes exactly
// four hex digits). The one escaper of code points, used by append_json_string and
// by whatever escapes characters JSON would allow as they are (path DETAILs).
void append_json_escape(std::string& out, std::uint32_t cp);

// Appends the UTF-8 encoding of code point `cp` (at most 0x10FFFF).
void append_utf8(std::string& out, std::uint32_t cp);

// Length of the valid UTF-8 sequence starting at s[pos] (a byte >= 0x80), or 0: no
// overlong forms, no UTF-16 surrogates, nothing above U+10FFFF.
std::size_t utf8_sequence(std::string_view s, std::size_t pos) noexcept;
// True when the whole of s is valid UTF-8 in that sense.
bool valid_utf8(std::string_view s) noexcept;

// The one JSON string unescaper (the JSON parser, vclock text input).
enum class StringError {
    none,
    unterminated,
    control_character,   // must be escaped
    invalid_utf8,
    invalid_escape,      // \x
    invalid_unicode,     // \u not followed by 4 hex digits
    unpaired_surrogate,
    nul,                 // \u0000, refused as jsonb does
    too_long,            // the decoded text would exceed max_bytes
};
const char* describe(StringError e) noexcept;
// Decodes the string literal whose opening quote is s[pos], appending its text to
// out, and moves pos past the closing quote. On an error pos is at (or just after)
// the offending bytes.
StringError decode_string(std::string_view s, std::size_t& pos, std::string& out,
                          std::size_t max_bytes = static_cast<std::size_t>(-1));

class Interner;

struct ParseOptions {
    std::size_t max_bytes = static_cast<std::size_t>(-1);  // larger input: limit_exceeded
    std::size_t max_depth = kMaxDepth;                     // deeper input: limit_exceeded (at most kMaxDepth + kDepthHeadroom)
    const Interner* interner = nullptr;  // share identical containers of its reference
};

// Strict RFC 8259 parser: one value with optional surrounding whitespace, valid UTF-8,
// no comments, no trailing commas, no NaN/Infinity, no leading zeros. Like jsonb it
// refuses \u0000 and unpaired surrogate escapes. Errors are ce::Error invalid_json with
// the byte offset, limit_exceeded for size and depth, out_of_range for exponents.
Value parse(std::string_view text, const ParseOptions& options = {});

// An index of the arrays and objects of one value (its reference). A Builder given an
// Interner shares the reference's node whenever it completes a container identical to
// one of the reference's, so a document that is mostly a copy of the reference costs
// little more memory than its differences (ours and theirs of a merge are mostly their
// base). About 24 bytes per distinct container of the reference.
class Interner {
public:
    explicit Interner(const Value& reference);
    // The reference's container identical to `v`, or `v` itself.
    Value intern(Value v) const;
    std::size_t size() const noexcept { return entries_.size(); }

private:
    std::vector<std::pair<std::uint64_t, Value>> entries_;  // (hash, container) by hash
    memory::Charge charge_;
};

// Builds a value from a stream of events (used by the parser and by the jsonb glue).
// Enforces the depth limit (limit_exceeded) and ticks the interrupt check. With an
// Interner, completed containers identical to the reference's share its nodes.
class Builder {
public:
    explicit Builder(std::size_t max_depth = kMaxDepth, const Interner* interner = nullptr);
    ~Builder();
    Builder(const Builder&) = delete;
    Builder& operator=(const Builder&) = delete;

    // `size_hint`: the expected number of elements or members, when known.
    void begin_array(std::size_t size_hint = 0);
    void begin_object(std::size_t size_hint = 0);
    void key(std::string key);  // inside an object, before each member's value
    void add(Value scalar);     // a scalar (or any complete value) as element or member value
    void end();                 // closes the innermost array or object
    bool complete() const noexcept;  // one top-level value is finished
    Value take();                    // the finished value; invalid_json when incomplete

private:
    struct Frame;
    void attach(Value v);
    std::vector<Frame> stack_;
    Value root_;
    bool has_root_ = false;
    std::size_t max_depth_;
    const Interner* interner_;
    std::size_t ticks_ = 0;
};

}  // namespace ce::json
