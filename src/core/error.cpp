#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/json.hpp"

namespace ce {

const char* errc_name(Errc code) noexcept {
    switch (code) {
        case Errc::invalid_parameter: return "invalid_parameter";
        case Errc::invalid_text: return "invalid_text";
        case Errc::invalid_json: return "invalid_json";
        case Errc::null_not_allowed: return "null_not_allowed";
        case Errc::out_of_range: return "out_of_range";
        case Errc::limit_exceeded: return "limit_exceeded";
        case Errc::invalid_operation: return "invalid_operation";
        case Errc::dependency_cycle: return "dependency_cycle";
        case Errc::duplicate_key: return "duplicate_key";
        case Errc::invalid_binary: return "invalid_binary";
        case Errc::canceled: return "canceled";
        case Errc::internal: return "internal";
    }
    return "unknown";
}

namespace detail {
InterruptHook interrupt_hook = nullptr;
}

InterruptHook set_interrupt_hook(InterruptHook hook) noexcept {
    InterruptHook old = detail::interrupt_hook;
    detail::interrupt_hook = hook;
    return old;
}

void Detail::key(std::string_view k) {
    out_ += out_.empty() ? "{" : ", ";
    json::append_json_string(out_, k);
    out_ += ": ";
}

Detail& Detail::add(std::string_view k, std::string_view text, std::size_t max_bytes) {
    key(k);
    json::append_json_string(out_, excerpt(text, max_bytes));
    return *this;
}

Detail& Detail::add(std::string_view k, long long n) {
    key(k);
    out_ += std::to_string(n);
    return *this;
}

Detail& Detail::add(std::string_view k, unsigned long long n) {
    key(k);
    out_ += std::to_string(n);
    return *this;
}

Detail& Detail::add_json(std::string_view k, std::string_view json) {
    if (json.size() > kEchoBytes * 16) return add(k, json);
    key(k);
    out_ += json;
    return *this;
}

std::string excerpt(std::string_view s, std::size_t max) {
    if (s.size() <= max) return std::string(s);
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return std::string(s.substr(0, n)) + "...";
}

}  // namespace ce
