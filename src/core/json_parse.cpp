// Building JSON values from a stream of events (Builder, with optional sharing of the
// nodes of a reference value through an Interner) and the strict text parser.
#include <algorithm>
#include <string>
#include <utility>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/json.hpp"

namespace ce::json {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace

// ---------------------------------------------------------------------------
// Interner

namespace {

void collect_containers(const Value& v, std::vector<std::pair<std::uint64_t, Value>>& out, InterruptTicker& ticker) {
    if (!v.is_container()) return;
    ticker.tick();
    out.emplace_back(v.hash(), v);
    if (v.is_array())
        for (const Value& e : v.items()) collect_containers(e, out, ticker);
    else
        for (const Member& m : v.members()) collect_containers(m.value, out, ticker);
}

bool hash_less(const std::pair<std::uint64_t, Value>& a, const std::pair<std::uint64_t, Value>& b) {
    return a.first < b.first;
}

}  // namespace

Interner::Interner(const Value& reference) {
    InterruptTicker ticker;
    collect_containers(reference, entries_, ticker);
    charge_.resize(memory::vector_bytes(entries_.capacity(), sizeof(entries_[0])));
    std::stable_sort(entries_.begin(), entries_.end(), [&ticker](const auto& a, const auto& b) {
        ticker.tick();
        return hash_less(a, b);
    });
    // Keep one of each set of identical containers (identical ones are adjacent unless
    // their hash collides with another container's).
    std::size_t out = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        ticker.tick();
        if (out > 0 && entries_[out - 1].first == entries_[i].first && identical(entries_[out - 1].second, entries_[i].second))
            continue;
        if (out != i) entries_[out] = std::move(entries_[i]);
        ++out;
    }
    entries_.resize(out);
    entries_.shrink_to_fit();
    charge_.resize(memory::vector_bytes(entries_.capacity(), sizeof(entries_[0])));
}

Value Interner::intern(Value v) const {
    if (!v.is_container()) return v;
    const std::pair<std::uint64_t, Value> key(v.hash(), Value());
    auto it = std::lower_bound(entries_.begin(), entries_.end(), key, hash_less);
    for (; it != entries_.end() && it->first == key.first; ++it)
        if (identical(it->second, v)) return it->second;
    return v;
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

Builder::Builder(std::size_t max_depth, const Interner* interner)
    : max_depth_(std::min(max_depth, kMaxDepth + kDepthHeadroom)), interner_(interner) {}
Builder::~Builder() = default;

void Builder::begin_array(std::size_t size_hint) {
    if (stack_.size() >= max_depth_)
        throw Error(Errc::limit_exceeded, "JSON value is nested too deeply", Detail().add("max_depth", max_depth_));
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
        throw Error(Errc::limit_exceeded, "JSON value is nested too deeply", Detail().add("max_depth", max_depth_));
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
    // A container built without a size hint may have up to twice the room it needs.
    if (f.items.capacity() - f.items.size() > f.items.size() / 4) f.items.shrink_to_fit();
    if (f.members.capacity() - f.members.size() > f.members.size() / 4) f.members.shrink_to_fit();
    Value v = f.object ? Value::object(std::move(f.members)) : Value::array(std::move(f.items));
    stack_.pop_back();
    if (interner_ != nullptr) v = interner_->intern(std::move(v));
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
    Parser(std::string_view s, const ParseOptions& o) : s_(s), builder_(o.max_depth, o.interner) {}

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
        throw Error(Errc::invalid_json, "invalid JSON: " + what + " at byte " + std::to_string(pos_),
                    Detail().add("offset", pos_));
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
            if (!is_number_text(text)) {
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

    std::string string_token() {
        std::string out;
        StringError e = decode_string(s_, pos_, out);
        if (e != StringError::none) fail(describe(e));
        return out;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    Builder builder_;
    InterruptTicker ticker_;
};

}  // namespace

std::size_t utf8_sequence(std::string_view s, std::size_t pos) noexcept {
    auto b = [&](std::size_t k) -> unsigned {
        return pos + k < s.size() ? static_cast<unsigned char>(s[pos + k]) : 0u;
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

bool valid_utf8(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        std::size_t n = utf8_sequence(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

const char* describe(StringError e) noexcept {
    switch (e) {
        case StringError::none: return "no error";
        case StringError::unterminated: return "unterminated string";
        case StringError::control_character: return "control character in a string (it must be escaped)";
        case StringError::invalid_utf8: return "invalid UTF-8 in a string";
        case StringError::invalid_escape: return "invalid escape sequence";
        case StringError::invalid_unicode: return "invalid \\u escape";
        case StringError::unpaired_surrogate: return "unpaired surrogate in a \\u escape";
        case StringError::nul: return "\\u0000 is not supported (as in jsonb)";
        case StringError::too_long: return "string too long";
    }
    return "invalid string";
}

namespace {

bool hex4(std::string_view s, std::size_t& pos, unsigned& v) {
    if (pos + 4 > s.size()) return false;
    v = 0;
    for (int i = 0; i < 4; ++i, ++pos) {
        char c = s[pos];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
        else return false;
    }
    return true;
}

}  // namespace

StringError decode_string(std::string_view s, std::size_t& pos, std::string& out, std::size_t max_bytes) {
    ++pos;  // opening quote
    const std::size_t base = out.size();
    for (;;) {
        std::size_t run = pos;
        while (pos < s.size()) {
            unsigned char c = static_cast<unsigned char>(s[pos]);
            if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
            ++pos;
        }
        out.append(s.data() + run, pos - run);
        if (out.size() - base > max_bytes) return StringError::too_long;
        if (pos >= s.size()) return StringError::unterminated;
        unsigned char c = static_cast<unsigned char>(s[pos]);
        if (c == '"') {
            ++pos;
            return StringError::none;
        }
        if (c < 0x20) return StringError::control_character;
        if (c >= 0x80) {
            std::size_t len = utf8_sequence(s, pos);
            if (len == 0) return StringError::invalid_utf8;
            out.append(s.data() + pos, len);
            pos += len;
            continue;
        }
        ++pos;  // backslash
        if (pos >= s.size()) return StringError::unterminated;
        switch (s[pos++]) {
            case '"': out.push_back('"'); break;
            case '\\': out.push_back('\\'); break;
            case '/': out.push_back('/'); break;
            case 'b': out.push_back('\b'); break;
            case 'f': out.push_back('\f'); break;
            case 'n': out.push_back('\n'); break;
            case 'r': out.push_back('\r'); break;
            case 't': out.push_back('\t'); break;
            case 'u': {
                unsigned cp = 0;
                if (!hex4(s, pos, cp)) return StringError::invalid_unicode;
                if (cp >= 0xDC00 && cp <= 0xDFFF) return StringError::unpaired_surrogate;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo = 0;
                    if (s.substr(pos, 2) != "\\u") return StringError::unpaired_surrogate;
                    pos += 2;
                    if (!hex4(s, pos, lo)) return StringError::invalid_unicode;
                    if (lo < 0xDC00 || lo > 0xDFFF) return StringError::unpaired_surrogate;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                if (cp == 0) return StringError::nul;
                append_utf8(out, cp);
                break;
            }
            default:
                --pos;
                return StringError::invalid_escape;
        }
    }
}

Value parse(std::string_view text, const ParseOptions& options) {
    if (text.size() > options.max_bytes)
        throw Error(Errc::limit_exceeded, "JSON text is too large",
                    Detail().add("bytes", text.size()).add("limit", options.max_bytes));
    return Parser(text, options).run();
}

}  // namespace ce::json
