// JSON values with jsonb semantics: construction, equality, hashing, printing, parsing.
#include "concurrent_edit/json.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"

namespace ce::json {

struct Node {
    Kind kind = Kind::null;
    bool boolean = false;
    std::uint32_t depth = 0;
    std::uint64_t hash = 0;
    // string contents or number text / array elements / object members
    std::variant<std::monostate, std::string, std::vector<Value>, std::vector<Member>> payload;
};

namespace {

const std::string kEmptyString;
const std::vector<Value> kEmptyItems;
const std::vector<Member> kEmptyMembers;

std::uint64_t splitmix(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Order-dependent accumulation of child hashes (children are already well mixed);
// a node's hash is finished with splitmix.
std::uint64_t combine(std::uint64_t h, std::uint64_t v) noexcept {
    return (h ^ v) * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
}

// 64-bit hash of a byte string, eight bytes at a time.
std::uint64_t bytes_hash(std::string_view s, std::uint64_t seed) noexcept {
    std::uint64_t h = seed ^ (s.size() * 0xff51afd7ed558ccdULL);
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 29;
    }
    std::uint64_t tail = 0;
    for (std::size_t k = i; k < s.size(); ++k) tail = (tail << 8) | static_cast<unsigned char>(s[k]);
    return splitmix(h ^ tail);
}

constexpr std::uint64_t kSeedNull = 0x6e756c6c, kSeedBool = 0x626f6f6c, kSeedNumber = 0x6e756d62,
                        kSeedString = 0x73747269, kSeedArray = 0x61727261, kSeedObject = 0x6f626a65,
                        kSeedKey = 0x6b657973;

constexpr std::size_t kMaxValueDepth = kMaxDepth + kDepthHeadroom;

[[noreturn]] void too_deep() {
    throw Error(Errc::limit_exceeded, "JSON value is nested too deeply",
                "More than " + std::to_string(kMaxValueDepth) + " levels of arrays and objects.");
}

// Canonical decimal form of a valid JSON number: value = 0.<digits> * 10^exponent, with
// digits free of leading and trailing zeros; zero has empty digits and no sign.
struct Canonical {
    bool negative = false;
    std::string digits;
    long long exponent = 0;
};

constexpr long long kMaxExponent = 1000000000LL;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Checks the RFC 8259 number grammar.
bool number_syntax(std::string_view s) noexcept {
    std::size_t i = 0, n = s.size();
    if (i < n && s[i] == '-') ++i;
    if (i >= n) return false;
    if (s[i] == '0') {
        ++i;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && is_digit(s[i])) ++i;
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        ++i;
        if (i >= n || !is_digit(s[i])) return false;
        while (i < n && is_digit(s[i])) ++i;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
        if (i >= n || !is_digit(s[i])) return false;
        while (i < n && is_digit(s[i])) ++i;
    }
    return i == n;
}

// `s` must satisfy number_syntax. Throws out_of_range for exponents beyond 10^9.
Canonical canonical(std::string_view s) {
    Canonical c;
    std::size_t i = 0;
    if (s[i] == '-') {
        c.negative = true;
        ++i;
    }
    long long int_digits = 0;
    std::string all;  // integer and fraction digits
    while (i < s.size() && is_digit(s[i])) {
        all.push_back(s[i++]);
        ++int_digits;
    }
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && is_digit(s[i])) all.push_back(s[i++]);
    }
    long long exp = 0;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        bool neg = false;
        if (s[i] == '+' || s[i] == '-') neg = s[i++] == '-';
        for (; i < s.size(); ++i) {
            exp = exp * 10 + (s[i] - '0');
            if (exp > kMaxExponent)
                throw Error(Errc::out_of_range, "JSON number exponent is out of range",
                            "Exponents are limited to +-" + std::to_string(kMaxExponent) + ".");
        }
        if (neg) exp = -exp;
    }
    std::size_t lead = all.find_first_not_of('0');
    if (lead == std::string::npos) return Canonical{};  // zero
    std::size_t last = all.find_last_not_of('0');
    c.digits = all.substr(lead, last - lead + 1);
    c.exponent = int_digits - static_cast<long long>(lead) + exp;
    return c;
}

std::shared_ptr<Node> new_node(Kind kind) {
    auto n = std::make_shared<Node>();
    n->kind = kind;
    return n;
}

}  // namespace

const char* kind_name(Kind kind) noexcept {
    switch (kind) {
        case Kind::null: return "null";
        case Kind::boolean: return "boolean";
        case Kind::number: return "number";
        case Kind::string: return "string";
        case Kind::array: return "array";
        case Kind::object: return "object";
    }
    return "unknown";
}

bool key_less(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return a.size() < b.size();
    return std::memcmp(a.data(), b.data(), a.size()) < 0;
}

// ---------------------------------------------------------------------------
// Construction

Value Value::boolean(bool b) {
    auto n = new_node(Kind::boolean);
    n->boolean = b;
    n->hash = splitmix(kSeedBool + (b ? 1 : 0));
    return Value(std::move(n));
}

Value Value::number(std::string_view text) {
    if (!number_syntax(text))
        throw Error(Errc::invalid_json, "invalid JSON number \"" + std::string(text.substr(0, 64)) + "\"");
    Canonical c = canonical(text);
    auto n = new_node(Kind::number);
    n->hash = splitmix(combine(combine(bytes_hash(c.digits, kSeedNumber), static_cast<std::uint64_t>(c.exponent)),
                               c.negative ? 1 : 0));
    n->payload = std::string(text);
    return Value(std::move(n));
}

Value Value::number(long long v) { return number(std::to_string(v)); }

Value Value::string(std::string s) {
    auto n = new_node(Kind::string);
    n->hash = bytes_hash(s, kSeedString);
    n->payload = std::move(s);
    return Value(std::move(n));
}

Value Value::array(std::vector<Value> items) {
    auto n = new_node(Kind::array);
    std::uint64_t h = kSeedArray ^ items.size();
    std::size_t depth = 0;
    for (const Value& v : items) {
        h = combine(h, v.hash());
        depth = std::max(depth, v.depth());
    }
    if (depth + 1 > kMaxValueDepth) too_deep();
    n->depth = static_cast<std::uint32_t>(depth + 1);
    n->hash = splitmix(h);
    n->payload = std::move(items);
    return Value(std::move(n));
}

Value Value::object(std::vector<Member> members) {
    bool sorted = true;
    for (std::size_t i = 1; i < members.size() && sorted; ++i)
        sorted = key_less(members[i - 1].key, members[i].key);
    if (!sorted) {
        std::stable_sort(members.begin(), members.end(),
                         [](const Member& a, const Member& b) { return key_less(a.key, b.key); });
        // Of equal keys (adjacent, in input order) keep the last, as jsonb does.
        std::size_t out = 0;
        for (std::size_t i = 0; i < members.size(); ++i) {
            if (i + 1 < members.size() && members[i + 1].key == members[i].key) continue;
            if (out != i) members[out] = std::move(members[i]);
            ++out;
        }
        members.resize(out);
    }
    auto n = new_node(Kind::object);
    std::uint64_t h = kSeedObject ^ members.size();
    std::size_t depth = 0;
    for (const Member& m : members) {
        h = combine(combine(h, bytes_hash(m.key, kSeedKey)), m.value.hash());
        depth = std::max(depth, m.value.depth());
    }
    if (depth + 1 > kMaxValueDepth) too_deep();
    n->depth = static_cast<std::uint32_t>(depth + 1);
    n->hash = splitmix(h);
    n->payload = std::move(members);
    return Value(std::move(n));
}

// ---------------------------------------------------------------------------
// Accessors

Kind Value::kind() const noexcept { return node_ ? node_->kind : Kind::null; }

bool Value::as_bool() const noexcept { return node_ && node_->kind == Kind::boolean && node_->boolean; }

const std::string& Value::text() const noexcept {
    if (node_)
        if (auto* s = std::get_if<std::string>(&node_->payload)) return *s;
    return kEmptyString;
}

const std::vector<Value>& Value::items() const noexcept {
    if (node_)
        if (auto* v = std::get_if<std::vector<Value>>(&node_->payload)) return *v;
    return kEmptyItems;
}

const std::vector<Member>& Value::members() const noexcept {
    if (node_)
        if (auto* v = std::get_if<std::vector<Member>>(&node_->payload)) return *v;
    return kEmptyMembers;
}

const Value* Value::find(std::string_view key) const noexcept {
    const auto& m = members();
    auto it = std::lower_bound(m.begin(), m.end(), key,
                               [](const Member& a, std::string_view k) { return key_less(a.key, k); });
    return it != m.end() && it->key == key ? &it->value : nullptr;
}

std::uint64_t Value::hash() const noexcept { return node_ ? node_->hash : kSeedNull; }

std::size_t Value::depth() const noexcept { return node_ ? node_->depth : 0; }

// ---------------------------------------------------------------------------
// Equality

bool number_equal(std::string_view a, std::string_view b) {
    if (a == b) return true;
    Canonical x = canonical(a), y = canonical(b);
    return x.negative == y.negative && x.exponent == y.exponent && x.digits == y.digits;
}

namespace {

bool equal_impl(const Value& a, const Value& b, bool exact, InterruptTicker& ticker) {
    ticker.tick();
    if (a.same_node(b)) return true;
    if (a.kind() != b.kind() || a.hash() != b.hash()) return false;
    switch (a.kind()) {
        case Kind::null: return true;
        case Kind::boolean: return a.as_bool() == b.as_bool();
        case Kind::number: return exact ? a.text() == b.text() : number_equal(a.text(), b.text());
        case Kind::string: return a.text() == b.text();
        case Kind::array: {
            const auto &x = a.items(), &y = b.items();
            if (x.size() != y.size()) return false;
            for (std::size_t i = 0; i < x.size(); ++i)
                if (!equal_impl(x[i], y[i], exact, ticker)) return false;
            return true;
        }
        case Kind::object: {
            const auto &x = a.members(), &y = b.members();
            if (x.size() != y.size()) return false;
            for (std::size_t i = 0; i < x.size(); ++i)
                if (x[i].key != y[i].key || !equal_impl(x[i].value, y[i].value, exact, ticker)) return false;
            return true;
        }
    }
    return false;
}

}  // namespace

bool operator==(const Value& a, const Value& b) {
    InterruptTicker ticker;
    return equal_impl(a, b, false, ticker);
}

bool identical(const Value& a, const Value& b) {
    InterruptTicker ticker;
    return equal_impl(a, b, true, ticker);
}

// ---------------------------------------------------------------------------
// Printing

namespace {

void print_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0;  // start of the pending run of bytes copied as they are
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                out += "\\u00";
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 15]);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

void print(std::string& out, const Value& v, InterruptTicker& ticker) {
    ticker.tick();
    switch (v.kind()) {
        case Kind::null: out += "null"; return;
        case Kind::boolean: out += v.as_bool() ? "true" : "false"; return;
        case Kind::number: out += v.text(); return;
        case Kind::string: print_string(out, v.text()); return;
        case Kind::array: {
            out.push_back('[');
            bool first = true;
            for (const Value& e : v.items()) {
                if (!first) out += ", ";
                first = false;
                print(out, e, ticker);
            }
            out.push_back(']');
            return;
        }
        case Kind::object: {
            out.push_back('{');
            bool first = true;
            for (const Member& m : v.members()) {
                if (!first) out += ", ";
                first = false;
                print_string(out, m.key);
                out += ": ";
                print(out, m.value, ticker);
            }
            out.push_back('}');
            return;
        }
    }
}

}  // namespace

std::string to_string(const Value& v) {
    std::string out;
    InterruptTicker ticker;
    print(out, v, ticker);
    return out;
}

// ---------------------------------------------------------------------------
// Builder

struct Builder::Frame {
    bool object = false;
    bool has_key = false;
    std::string key;
    std::vector<Value> items;
    std::vector<Member> members;
};

Builder::Builder(std::size_t max_depth) : max_depth_(std::min(max_depth, kMaxDepth)) {}
Builder::~Builder() = default;

void Builder::begin_array(std::size_t size_hint) {
    if (stack_.size() >= max_depth_)
        throw Error(Errc::limit_exceeded, "JSON value is nested too deeply",
                    "More than " + std::to_string(max_depth_) + " levels of arrays and objects.");
    if (has_root_ && stack_.empty()) throw Error(Errc::invalid_json, "JSON document has more than one value");
    stack_.emplace_back();
    stack_.back().items.reserve(std::min<std::size_t>(size_hint, 1 << 20));
}

void Builder::begin_object(std::size_t size_hint) {
    begin_array();
    stack_.back().object = true;
    stack_.back().members.reserve(std::min<std::size_t>(size_hint, 1 << 20));
}

void Builder::key(std::string key) {
    if (stack_.empty() || !stack_.back().object || stack_.back().has_key)
        throw Error(Errc::invalid_json, "JSON object key out of place");
    stack_.back().key = std::move(key);
    stack_.back().has_key = true;
}

void Builder::add(Value v) {
    if (stack_.size() + v.depth() > max_depth_)
        throw Error(Errc::limit_exceeded, "JSON value is nested too deeply",
                    "More than " + std::to_string(max_depth_) + " levels of arrays and objects.");
    attach(std::move(v));
}

void Builder::attach(Value v) {
    if (++ticks_ % 4096 == 0) check_interrupts();
    if (stack_.empty()) {
        if (has_root_) throw Error(Errc::invalid_json, "JSON document has more than one value");
        root_ = std::move(v);
        has_root_ = true;
        return;
    }
    Frame& f = stack_.back();
    if (!f.object) {
        f.items.push_back(std::move(v));
    } else {
        if (!f.has_key) throw Error(Errc::invalid_json, "JSON object member without a key");
        f.members.push_back(Member{std::move(f.key), std::move(v)});
        f.key.clear();
        f.has_key = false;
    }
}

void Builder::end() {
    if (stack_.empty()) throw Error(Errc::invalid_json, "JSON array or object closed but none is open");
    Frame& f = stack_.back();
    if (f.has_key) throw Error(Errc::invalid_json, "JSON object key without a value");
    Value v = f.object ? Value::object(std::move(f.members)) : Value::array(std::move(f.items));
    stack_.pop_back();
    attach(std::move(v));
}

bool Builder::complete() const noexcept { return has_root_ && stack_.empty(); }

Value Builder::take() {
    if (!complete()) throw Error(Errc::invalid_json, "JSON document is incomplete");
    has_root_ = false;
    return std::move(root_);
}

// ---------------------------------------------------------------------------
// Parser

namespace {

class Parser {
public:
    Parser(std::string_view s, const ParseOptions& o) : s_(s), builder_(o.max_depth) {}

    Value run() {
        std::vector<char> open;  // '[' or '{' per open container
        bool want_value = true;
        for (;;) {
            ticker_.tick();
            skip_ws();
            if (want_value) {
                if (pos_ >= s_.size()) fail("unexpected end of input, a value was expected");
                char c = s_[pos_];
                if (c == '[' || c == '{') {
                    ++pos_;
                    if (c == '[') builder_.begin_array(); else builder_.begin_object();
                    open.push_back(c);
                    skip_ws();
                    if (pos_ < s_.size() && s_[pos_] == (c == '[' ? ']' : '}')) {
                        ++pos_;
                        builder_.end();
                        open.pop_back();
                        want_value = false;
                    } else if (c == '{') {
                        member_key();
                    }
                    continue;
                }
                scalar();
                want_value = false;
                continue;
            }
            if (open.empty()) {
                if (pos_ != s_.size()) fail("unexpected characters after the JSON value");
                return builder_.take();
            }
            if (pos_ >= s_.size()) fail("unexpected end of input inside an array or object");
            char c = s_[pos_];
            if (c == ',') {
                ++pos_;
                if (open.back() == '{') {
                    skip_ws();
                    member_key();
                }
                want_value = true;
            } else if (c == (open.back() == '[' ? ']' : '}')) {
                ++pos_;
                builder_.end();
                open.pop_back();
            } else {
                fail(open.back() == '[' ? "\",\" or \"]\" expected" : "\",\" or \"}\" expected");
            }
        }
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw Error(Errc::invalid_json, "invalid JSON: " + what + " at byte " + std::to_string(pos_));
    }

    void skip_ws() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
            ++pos_;
    }

    void member_key() {
        if (pos_ >= s_.size() || s_[pos_] != '"') fail("object key (a string) expected");
        builder_.key(string_token());
        skip_ws();
        if (pos_ >= s_.size() || s_[pos_] != ':') fail("\":\" expected after an object key");
        ++pos_;
    }

    void scalar() {
        char c = s_[pos_];
        if (c == '"') {
            builder_.add(Value::string(string_token()));
        } else if (c == '-' || is_digit(c)) {
            std::size_t start = pos_;
            if (s_[pos_] == '-') ++pos_;
            while (pos_ < s_.size() && (is_digit(s_[pos_]) || s_[pos_] == '.' || s_[pos_] == 'e' ||
                                         s_[pos_] == 'E' || s_[pos_] == '+' || s_[pos_] == '-'))
                ++pos_;
            std::string_view text = s_.substr(start, pos_ - start);
            if (!number_syntax(text)) {
                pos_ = start;
                fail("invalid number");
            }
            builder_.add(Value::number(text));
        } else if (literal("true")) {
            builder_.add(Value::boolean(true));
        } else if (literal("false")) {
            builder_.add(Value::boolean(false));
        } else if (literal("null")) {
            builder_.add(Value());
        } else {
            fail("a value was expected");
        }
    }

    bool literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    unsigned hex4() {
        if (pos_ + 4 > s_.size()) fail("incomplete \\u escape");
        unsigned v = 0;
        for (int i = 0; i < 4; ++i) {
            char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= c - '0';
            else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
            else { --pos_; fail("invalid \\u escape"); }
        }
        return v;
    }

    static void put_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }

    // Length of the valid UTF-8 sequence at pos_ (first byte >= 0x80), or 0.
    std::size_t utf8_sequence() const {
        auto b = [&](std::size_t k) -> unsigned {
            return pos_ + k < s_.size() ? static_cast<unsigned char>(s_[pos_ + k]) : 0u;
        };
        auto cont = [&](std::size_t k) { return (b(k) & 0xC0) == 0x80; };
        unsigned c = b(0);
        if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
        if (c == 0xE0) return b(1) >= 0xA0 && b(1) <= 0xBF && cont(2) ? 3 : 0;
        if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
        if (c == 0xED) return b(1) >= 0x80 && b(1) <= 0x9F && cont(2) ? 3 : 0;
        if (c == 0xF0) return b(1) >= 0x90 && b(1) <= 0xBF && cont(2) && cont(3) ? 4 : 0;
        if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
        if (c == 0xF4) return b(1) >= 0x80 && b(1) <= 0x8F && cont(2) && cont(3) ? 4 : 0;
        return 0;
    }

    std::string string_token() {
        ++pos_;  // opening quote
        std::string out;
        for (;;) {
            std::size_t run = pos_;
            while (pos_ < s_.size()) {
                unsigned char c = static_cast<unsigned char>(s_[pos_]);
                if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
                ++pos_;
            }
            out.append(s_.data() + run, pos_ - run);
            if (pos_ >= s_.size()) fail("unterminated string");
            unsigned char c = static_cast<unsigned char>(s_[pos_]);
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c < 0x20) fail("control character in a string (it must be escaped)");
            if (c >= 0x80) {
                std::size_t len = utf8_sequence();
                if (len == 0) fail("invalid UTF-8 in a string");
                out.append(s_.data() + pos_, len);
                pos_ += len;
                continue;
            }
            ++pos_;  // backslash
            if (pos_ >= s_.size()) fail("unterminated string");
            char e = s_[pos_++];
            switch (e) {
                case '"': out.push_back('"'); break;
                case '\\': out.push_back('\\'); break;
                case '/': out.push_back('/'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'n': out.push_back('\n'); break;
                case 'r': out.push_back('\r'); break;
                case 't': out.push_back('\t'); break;
                case 'u': {
                    unsigned cp = hex4();
                    if (cp >= 0xDC00 && cp <= 0xDFFF) fail("unpaired low surrogate in a \\u escape");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (s_.substr(pos_, 2) != "\\u") fail("unpaired high surrogate in a \\u escape");
                        pos_ += 2;
                        unsigned lo = hex4();
                        if (lo < 0xDC00 || lo > 0xDFFF) fail("unpaired high surrogate in a \\u escape");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    if (cp == 0) fail("\\u0000 is not supported (as in jsonb)");
                    put_utf8(out, cp);
                    break;
                }
                default:
                    --pos_;
                    fail("invalid escape sequence");
            }
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    Builder builder_;
    InterruptTicker ticker_;
};

}  // namespace

Value parse(std::string_view text, const ParseOptions& options) {
    if (text.size() > options.max_bytes)
        throw Error(Errc::limit_exceeded, "JSON text is too large",
                    "It has " + std::to_string(text.size()) + " bytes; the limit is " +
                        std::to_string(options.max_bytes) + " bytes.");
    return Parser(text, options).run();
}

}  // namespace ce::json
