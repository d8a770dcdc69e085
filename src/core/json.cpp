// JSON values with jsonb semantics: construction, equality, hashing, printing, parsing.
#include "concurrent_edit/json.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <new>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/memory.hpp"
#include "concurrent_edit/siphash.hpp"

namespace ce::json {

// 56 bytes: the payload is a union selected by kind (a std::variant would add 8).
struct Node {
    std::uint64_t hash = 0;
    std::uint32_t depth = 0;
    Kind kind;
    bool boolean = false;
    bool accounted = false;        // its bytes are charged (ce::memory)
    const void* origin = nullptr;  // numbers: the tag given to Value::number
    union {
        std::string text;             // string contents or number text
        std::vector<Value> items;     // array elements
        std::vector<Member> members;  // object members in key order
    };

    explicit Node(Kind k) : kind(k) {
        switch (k) {
            case Kind::string:
            case Kind::number: new (&text) std::string(); break;
            case Kind::array: new (&items) std::vector<Value>(); break;
            case Kind::object: new (&members) std::vector<Member>(); break;
            default: break;
        }
    }
    // The heap bytes of the node (as make_shared allocates it) and of its payload.
    std::size_t bytes() const noexcept {
        std::size_t b = memory::malloc_size(sizeof(Node) + 2 * sizeof(void*));  // with the control block
        switch (kind) {
            case Kind::string:
            case Kind::number: b += memory::string_bytes(text.capacity()); break;
            case Kind::array: b += memory::vector_bytes(items.capacity(), sizeof(Value)); break;
            case Kind::object:
                b += memory::vector_bytes(members.capacity(), sizeof(Member));
                for (const Member& m : members) b += memory::string_bytes(m.key.capacity());
                break;
            default: break;
        }
        return b;
    }
    // Charges the node once its payload is in place (limit_exceeded beyond a Budget).
    void account() {
        memory::charge(bytes());
        accounted = true;
    }
    ~Node() {
        if (accounted) memory::release(bytes());
        switch (kind) {
            case Kind::string:
            case Kind::number: text.~basic_string(); break;
            case Kind::array: items.~vector(); break;
            case Kind::object: members.~vector(); break;
            default: break;
        }
    }
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
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

// The hashes of values are keyed with a random key per process: the merge matches
// elements and ids through hash maps, and an unkeyed hash let a document of ids
// chosen to collide turn each lookup into a scan (20,000 such ids took 16 s to
// merge, against 42 ms for others). Strings go through SipHash-2-4; null and the
// booleans, the leaves without bytes, get random hashes too, so that no value's
// hash is known outside the process. Nothing outside a process sees a hash.
struct HashKey {
    std::uint8_t sip[16];
    std::uint64_t null_hash, bool_hash;
};

const HashKey& hash_key() noexcept {
    static const HashKey key = [] {
        std::uint64_t w[4] = {0, 0, 0, 0};
        try {
            std::random_device device;
            for (std::uint64_t& x : w) x = (static_cast<std::uint64_t>(device()) << 32) ^ device();
        } catch (...) {
            // No random device: the clock and an address, still unknown to a client.
            std::uint64_t seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                                 reinterpret_cast<std::uintptr_t>(&w);
            for (std::uint64_t& x : w) x = seed = splitmix(seed);
        }
        HashKey k{};
        std::memcpy(k.sip, w, sizeof k.sip);
        k.null_hash = splitmix(w[2]);
        k.bool_hash = splitmix(w[3]);
        return k;
    }();
    return key;
}

// 64-bit keyed hash of a byte string; `seed` tells kinds of strings apart.
std::uint64_t bytes_hash(std::string_view s, std::uint64_t seed) noexcept {
    return siphash24(hash_key().sip, s.data(), s.size()) ^ seed;
}

constexpr std::uint64_t kSeedNumber = 0x6e756d62,
                        kSeedString = 0x73747269, kSeedArray = 0x61727261, kSeedObject = 0x6f626a65,
                        kSeedKey = 0x6b657973;

constexpr std::size_t kMaxValueDepth = kMaxDepth + kDepthHeadroom;

[[noreturn]] void too_deep() {
    throw Error(Errc::limit_exceeded, "JSON value is nested too deeply", Detail().add("max_depth", kMaxValueDepth));
}

// Canonical decimal form of a valid JSON number: value = 0.<digits> * 10^exponent, with
// digits free of leading and trailing zeros; zero has empty digits and no sign.
struct Canonical {
    bool negative = false;
    std::string digits;
    long long exponent = 0;
};

constexpr long long kMaxExponent = 1000000000LL;

// Bytes of scalars read, hashed or compared, counted across calls in this thread:
// an interrupt check every kScalarWork of them. The loops over values count values,
// and one value may be megabytes (numeric_out writes 1e131071 as 131,072
// characters: reading 20,000 of them went 4.3 s without a check).
constexpr std::size_t kScalarWork = 1 << 18;
thread_local InterruptTicker scalar_ticker(kScalarWork);

void scalar_work(std::size_t bytes) { scalar_ticker.tick(bytes); }

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// The end of the run of digits of `s` from `i`. With `check`, read kScalarWork
// bytes at a time, each step counted as scalar work.
std::size_t digits_end(std::string_view s, std::size_t i, bool check) {
    for (;;) {
        const std::size_t from = i, stop = std::min(s.size(), i + kScalarWork);
        while (i < stop && is_digit(s[i])) ++i;
        if (check) scalar_work(i - from);
        if (i < stop || stop == s.size()) return i;
    }
}

// Checks the RFC 8259 number grammar (checking for interrupts with `check`).
bool number_syntax(std::string_view s, bool check) {
    std::size_t i = 0, n = s.size();
    if (i < n && s[i] == '-') ++i;
    if (i >= n) return false;
    if (s[i] == '0') {
        ++i;
    } else if (s[i] >= '1' && s[i] <= '9') {
        i = digits_end(s, i, check);
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        ++i;
        if (i >= n || !is_digit(s[i])) return false;
        i = digits_end(s, i, check);
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
        if (i >= n || !is_digit(s[i])) return false;
        i = digits_end(s, i, check);
    }
    return i == n;
}

// `s` must satisfy number_syntax. Throws out_of_range for exponents beyond 10^9.
// Checks for interrupts (scalar work).
Canonical canonical(std::string_view s) {
    Canonical c;
    std::size_t i = 0;
    if (s[i] == '-') {
        c.negative = true;
        ++i;
    }
    std::string all;  // integer and fraction digits
    std::size_t end = digits_end(s, i, true);
    const long long int_digits = static_cast<long long>(end - i);
    all.append(s.data() + i, end - i);
    i = end;
    if (i < s.size() && s[i] == '.') {
        ++i;
        end = digits_end(s, i, true);
        all.append(s.data() + i, end - i);
        i = end;
    }
    scalar_work(all.size());  // the searches for the first and last nonzero digits
    long long exp = 0;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        bool neg = false;
        if (s[i] == '+' || s[i] == '-') neg = s[i++] == '-';
        digits_end(s, i, true);  // counted: the loop below reads every digit
        for (; i < s.size(); ++i) {
            exp = exp * 10 + (s[i] - '0');
            if (exp > kMaxExponent)
                throw Error(Errc::out_of_range, "JSON number exponent is out of range",
                            Detail().add("number", s).add("max_exponent", kMaxExponent));
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
    return std::make_shared<Node>(kind);
}

std::shared_ptr<Node> boolean_node(bool b) {
    auto n = new_node(Kind::boolean);
    n->boolean = b;
    n->hash = splitmix(hash_key().bool_hash + (b ? 1 : 0));
    return n;
}

}  // namespace

bool is_number_text(std::string_view text) noexcept { return number_syntax(text, false); }

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
    // Two shared nodes: a boolean costs no allocation.
    static const Value values[2] = {Value(boolean_node(false)), Value(boolean_node(true))};
    return values[b ? 1 : 0];
}

Value Value::number(std::string_view text, const void* origin) {
    if (!number_syntax(text, true))
        throw Error(Errc::invalid_json, "invalid JSON number \"" + excerpt(text) + "\"", Detail().add("number", text));
    Canonical c = canonical(text);
    scalar_work(c.digits.size() + text.size());  // the hash, the copy
    auto n = new_node(Kind::number);
    n->hash = splitmix(combine(combine(bytes_hash(c.digits, kSeedNumber), static_cast<std::uint64_t>(c.exponent)),
                               c.negative ? 1 : 0));
    n->text.assign(text.data(), text.size());
    n->origin = origin;
    n->account();
    return Value(std::move(n));
}

Value Value::number(long long v) { return number(std::to_string(v)); }

Value Value::string(std::string s) {
    scalar_work(s.size());  // the hash
    auto n = new_node(Kind::string);
    n->hash = bytes_hash(s, kSeedString);
    n->text = std::move(s);
    n->account();
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
    n->items = std::move(items);
    n->account();
    return Value(std::move(n));
}

Value Value::object(std::vector<Member> members) {
    bool sorted = true;
    for (std::size_t i = 1; i < members.size() && sorted; ++i)
        sorted = key_less(members[i - 1].key, members[i].key);
    if (!sorted) {
        InterruptTicker ticker;
        std::stable_sort(members.begin(), members.end(), [&ticker](const Member& a, const Member& b) {
            ticker.tick();
            return key_less(a.key, b.key);
        });
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
    n->members = std::move(members);
    n->account();
    return Value(std::move(n));
}

// ---------------------------------------------------------------------------
// Accessors

Kind Value::kind() const noexcept { return node_ ? node_->kind : Kind::null; }

bool Value::as_bool() const noexcept { return node_ && node_->kind == Kind::boolean && node_->boolean; }

const std::string& Value::text() const noexcept {
    return node_ && (node_->kind == Kind::string || node_->kind == Kind::number) ? node_->text : kEmptyString;
}

const std::vector<Value>& Value::items() const noexcept {
    return node_ && node_->kind == Kind::array ? node_->items : kEmptyItems;
}

const std::vector<Member>& Value::members() const noexcept {
    return node_ && node_->kind == Kind::object ? node_->members : kEmptyMembers;
}

const Value* Value::find(std::string_view key) const noexcept {
    const auto& m = members();
    auto it = std::lower_bound(m.begin(), m.end(), key,
                               [](const Member& a, std::string_view k) { return key_less(a.key, k); });
    return it != m.end() && it->key == key ? &it->value : nullptr;
}

const void* Value::origin() const noexcept { return node_ && node_->kind == Kind::number ? node_->origin : nullptr; }

std::uint64_t Value::hash() const noexcept { return node_ ? node_->hash : hash_key().null_hash; }

std::size_t Value::depth() const noexcept { return node_ ? node_->depth : 0; }

// ---------------------------------------------------------------------------
// Equality

bool number_equal(std::string_view a, std::string_view b) {
    scalar_work(std::min(a.size(), b.size()));
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
        case Kind::number:
            if (!exact) return number_equal(a.text(), b.text());
            scalar_work(a.text().size());
            return a.text() == b.text();
        case Kind::string: scalar_work(a.text().size()); return a.text() == b.text();
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


void print(std::string& out, const Value& v, InterruptTicker& ticker) {
    ticker.tick();
    switch (v.kind()) {
        case Kind::null: out += "null"; return;
        case Kind::boolean: out += v.as_bool() ? "true" : "false"; return;
        case Kind::number: scalar_work(v.text().size()); out += v.text(); return;
        case Kind::string: scalar_work(v.text().size()); append_json_string(out, v.text()); return;
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
                append_json_string(out, m.key);
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

void append_json_escape(std::string& out, std::uint32_t cp) {
    static const char hex[] = "0123456789abcdef";
    auto unit = [&out](std::uint32_t u) {
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) out.push_back(hex[(u >> shift) & 15]);
    };
    if (cp < 0x10000) {
        unit(cp);
    } else {
        cp -= 0x10000;
        unit(0xD800 + (cp >> 10));
        unit(0xDC00 + (cp & 0x3FF));
    }
}

void append_json_string(std::string& out, std::string_view s) {
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
            default: append_json_escape(out, c);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

void append_utf8(std::string& out, std::uint32_t cp) {
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

}  // namespace ce::json
