#include "concurrent_edit/path.hpp"

#include <vector>

#include "concurrent_edit/error.hpp"

namespace ce {

std::string normalize_path(std::string_view path) {
    if (path.size() > kMaxPathBytes)
        throw Error(Errc::limit_exceeded, "file path is too long",
                    Detail().add("bytes", path.size()).add("limit", kMaxPathBytes));
    for (unsigned char c : path)
        if (c < 0x20 || c == 0x7f)
            throw Error(Errc::invalid_parameter, "file path contains a control character",
                        Detail().add("path", path), "Paths may not contain control characters such as newline or tab.");

    std::vector<std::string_view> segs;
    std::size_t i = 0;
    while (i <= path.size()) {
        std::size_t j = i;
        while (j < path.size() && path[j] != '/' && path[j] != '\\') ++j;
        std::string_view seg = path.substr(i, j - i);
        if (seg.empty() || seg == ".") {
            // collapse "//", drop "./" and leading/trailing slashes
        } else if (seg == "..") {
            if (segs.empty())
                throw Error(Errc::invalid_parameter, "file path escapes the project root",
                            Detail().add("path", path), "A \"..\" segment may not climb above the project root.");
            segs.pop_back();
        } else {
            segs.push_back(seg);
        }
        i = j + 1;
    }
    if (segs.empty())
        throw Error(Errc::invalid_parameter, "file path is empty",
                    Detail().add("path", path), "The path names no file once \".\", \"..\" and slashes are resolved.");
    std::string out;
    out.reserve(path.size());
    for (std::size_t k = 0; k < segs.size(); ++k) {
        if (k) out.push_back('/');
        out.append(segs[k]);
    }
    return out;
}

}  // namespace ce
