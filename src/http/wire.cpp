// The request head written out (wire.hpp).
#include "wire.hpp"

#include <sqs2pg/version.hpp>

namespace sqs2pg::http::detail {

// The request line and header fields of `req`, in their order, as HTTP/1.1 sends
// them. Beast's serializer did the same through a chain of buffer views and a composed
// write operation: 1,400-2,400 instructions per message of a drain (JSON, query) for a
// few hundred bytes.
// Every request here has a body of known size (Content-Length, set by async_send),
// and is HTTP/1.1 (or 1.0, written as such; sqs2pg makes no other).
void write_head(const request& req, std::string& out) {
    out.clear();
    const auto method = req.method_string();
    const auto target = req.target();
    out.append(method.data(), method.size()).append(1, ' ').append(target.data(), target.size());
    out.append(req.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    for (const auto& f : req) {
        const auto name = f.name_string();
        const auto value = f.value();
        out.append(name.data(), name.size()).append(": ", 2);
        out.append(value.data(), value.size()).append("\r\n", 2);
    }
    out.append("\r\n", 2);
}

const std::string& user_agent() {
    static const std::string ua = std::string("sqs2pg/") + version_string;
    return ua;
}

} // namespace sqs2pg::http::detail
