// Binary deltas (delta.hpp): encoding with the line diff, checked application.
#include "concurrent_edit/delta.hpp"

#include <cstdint>
#include <cstring>

#include "concurrent_edit/diff.hpp"
#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/lines.hpp"

namespace ce::delta {

namespace {

constexpr char kMagic = 'D';
constexpr char kFormat = 1;

void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out += static_cast<char>((v & 0x7f) | 0x80);
        v >>= 7;
    }
    out += static_cast<char>(v);
}

[[noreturn]] void malformed(const char* why, std::size_t at) {
    throw Error(Errc::invalid_binary, std::string("malformed delta: ") + why,
                Detail().add("reason", why).add("offset", static_cast<unsigned long long>(at)));
}

class Reader {
public:
    explicit Reader(std::string_view d) : d_(d) {}
    bool done() const { return pos_ == d_.size(); }
    std::size_t pos() const { return pos_; }
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos_ >= d_.size()) malformed("truncated integer", pos_);
            auto byte = static_cast<unsigned char>(d_[pos_++]);
            v |= std::uint64_t(byte & 0x7f) << shift;
            if ((byte & 0x80) == 0) return v;
        }
        malformed("integer too long", pos_);
    }
    std::string_view bytes(std::uint64_t n) {
        if (n > d_.size() - pos_) malformed("truncated literal", pos_);
        std::string_view s = d_.substr(pos_, n);
        pos_ += n;
        return s;
    }

private:
    std::string_view d_;
    std::size_t pos_ = 0;
};

Header read_header(Reader& r, std::string_view d) {
    if (d.size() < 2 || d[0] != kMagic) malformed("not a delta", 0);
    if (d[1] != kFormat) malformed("unknown format version", 1);
    r.bytes(2);
    Header h;
    h.base_size = r.varint();
    h.target_size = r.varint();
    if (h.target_size > kMaxTextBytes || h.base_size > kMaxTextBytes) malformed("size over the text limit", 2);
    return h;
}

// Instructions accumulate here; adjacent copies of adjacent base ranges merge.
class Writer {
public:
    explicit Writer(std::string& out) : out_(out) {}
    void copy(std::size_t offset, std::size_t length) {
        if (length == 0) return;
        if (pending_len_ > 0 && pending_off_ + pending_len_ == offset) {
            pending_len_ += length;
            return;
        }
        flush();
        pending_off_ = offset;
        pending_len_ = length;
    }
    void insert(std::string_view bytes) {
        if (bytes.empty()) return;
        flush();
        put_varint(out_, (std::uint64_t(bytes.size()) << 1) | 1);
        out_.append(bytes.data(), bytes.size());
    }
    void flush() {
        if (pending_len_ == 0) return;
        put_varint(out_, std::uint64_t(pending_len_) << 1);
        put_varint(out_, pending_off_);
        pending_len_ = 0;
    }

private:
    std::string& out_;
    std::size_t pending_off_ = 0, pending_len_ = 0;
};

// Length of the common prefix of a and b, cut back to a line boundary.
std::size_t common_prefix(std::string_view a, std::string_view b) {
    std::size_t n = std::min(a.size(), b.size()), i = 0;
    while (i < n && a[i] == b[i]) ++i;
    while (i > 0 && a[i - 1] != '\n') --i;
    return i;
}

// Length of the common suffix of a and b (not reaching into the first `skip`
// bytes of either), starting at a line boundary.
std::size_t common_suffix(std::string_view a, std::string_view b, std::size_t skip) {
    std::size_t n = std::min(a.size(), b.size()) - skip, i = 0;
    while (i < n && a[a.size() - 1 - i] == b[b.size() - 1 - i]) ++i;
    // The suffix starts right after a '\n' of both (or at the prefix's end).
    while (i > 0 && i < n && a[a.size() - i - 1] != '\n') --i;
    return i;
}

}  // namespace

std::string encode(std::string_view base, std::string_view target) {
    if (base.size() > kMaxTextBytes || target.size() > kMaxTextBytes)
        throw Error(Errc::limit_exceeded, "text too large for a delta",
                    Detail().add("bytes", static_cast<unsigned long long>(std::max(base.size(), target.size()))));
    std::string out;
    out += kMagic;
    out += kFormat;
    put_varint(out, base.size());
    put_varint(out, target.size());
    Writer w(out);

    std::size_t prefix = common_prefix(base, target);
    std::size_t suffix = common_suffix(base, target, prefix);
    std::string_view a = base.substr(prefix, base.size() - prefix - suffix);
    std::string_view b = target.substr(prefix, target.size() - prefix - suffix);
    w.copy(0, prefix);
    if (!a.empty() && !b.empty()) {
        LineDiff d = diff_lines(a, b);
        // Byte offsets of the lines of a (relative to `a`) and b.
        auto offset_of = [](const std::vector<std::string_view>& lines, std::string_view text, long i) {
            return i < static_cast<long>(lines.size()) ? static_cast<std::size_t>(lines[i].data() - text.data())
                                                       : text.size();
        };
        long ai = 0, bi = 0;
        InterruptTicker ticker(1024);
        for (const DiffChange& c : d.changes) {
            ticker.tick();
            // Unchanged lines before the change: a copy.
            std::size_t from = offset_of(d.old_lines, a, ai), to = offset_of(d.old_lines, a, c.old_start);
            w.copy(prefix + from, to - from);
            std::size_t ins_from = offset_of(d.new_lines, b, c.new_start);
            std::size_t ins_to = offset_of(d.new_lines, b, c.new_start + c.new_count);
            w.insert(b.substr(ins_from, ins_to - ins_from));
            ai = c.old_start + c.old_count;
            bi = c.new_start + c.new_count;
        }
        std::size_t from = offset_of(d.old_lines, a, ai);
        w.copy(prefix + from, a.size() - from);
        (void)bi;
    } else {
        w.insert(b);
    }
    w.copy(base.size() - suffix, suffix);
    w.flush();
    return out;
}

Header header(std::string_view delta) {
    Reader r(delta);
    return read_header(r, delta);
}

void apply_into(std::string_view base, std::string_view delta, std::string& out) {
    Reader r(delta);
    Header h = read_header(r, delta);
    if (h.base_size != base.size()) malformed("made for a base of another size", 2);
    out.clear();
    out.reserve(h.target_size);
    while (!r.done()) {
        std::size_t at = r.pos();
        std::uint64_t n = r.varint();
        std::uint64_t length = n >> 1;
        if (length == 0) malformed("empty instruction", at);
        if (length > h.target_size - out.size()) malformed("instruction past the target size", at);
        if (n & 1) {
            std::string_view lit = r.bytes(length);
            out.append(lit.data(), lit.size());
        } else {
            std::uint64_t offset = r.varint();
            if (offset > base.size() || length > base.size() - offset) malformed("copy outside the base", at);
            out.append(base.data() + offset, length);
        }
    }
    if (out.size() != h.target_size) malformed("shorter than its target size", r.pos());
}

std::int64_t preferred_base(std::int64_t version) {
    if (version <= 1) return 0;
    std::int64_t i = version - 1, unit = 1;
    while (i / unit % kSkipRadix == 0) unit *= kSkipRadix;
    return i - unit + 1;
}

std::string apply(std::string_view base, std::string_view delta) {
    std::string out;
    apply_into(base, delta, out);
    return out;
}

}  // namespace ce::delta
