// Loading of captured SQS responses and their request index for the codec tests.
#include "capture.hpp"

#include "test_env.hpp"

#include <boost/json/parse.hpp>

#include <cctype>
#include <stdexcept>

namespace sqs2pg::sqs::test {

std::string capture::header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

wire_response capture::wire() const {
    wire_response w;
    w.status = status;
    w.body = body;
    const auto view = [&](const char* name) -> std::string_view {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string_view() : std::string_view(it->second);
    };
    w.content_type = view("content-type");
    w.request_id = view("x-amzn-requestid");
    w.query_error = view("x-amzn-query-error");
    w.error_type = view("x-amzn-errortype");
    return w;
}

capture load_capture(const std::string& file) {
    const std::string raw =
        sqs2pg::test::read_file(sqs2pg::test::data_path("sqs-responses/" + file));
    const auto split = raw.find("\r\n\r\n");
    if (split == std::string::npos)
        throw std::runtime_error(file + ": no CRLF CRLF");
    capture c;
    c.body = raw.substr(split + 4);
    const std::string head = raw.substr(0, split);
    std::size_t pos = head.find("\r\n");
    const std::string status_line = head.substr(0, pos);
    c.status = static_cast<unsigned>(std::stoul(status_line.substr(status_line.find(' ') + 1)));
    while (pos != std::string::npos) {
        const auto start = pos + 2;
        pos = head.find("\r\n", start);
        const std::string line = head.substr(start, pos == std::string::npos ? pos : pos - start);
        const auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::string name = line.substr(0, colon);
        for (auto& ch : name)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        c.headers[name] = value;
    }
    return c;
}

const boost::json::value& capture_index() {
    static const boost::json::value index = boost::json::parse(
        sqs2pg::test::read_file(sqs2pg::test::data_path("sqs-responses/index.json")));
    return index;
}

const boost::json::object& index_entry(const std::string& file) {
    for (const auto& r : capture_index().at("responses").as_array())
        if (r.at("file").as_string() == file)
            return r.as_object();
    throw std::runtime_error(file + " is not in index.json");
}

std::vector<std::pair<std::string, std::string>> index_params(const std::string& file) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& p : index_entry(file).at("request").at("params").as_array()) {
        const auto& pair = p.as_array();
        out.emplace_back(std::string(pair.at(0).as_string()), std::string(pair.at(1).as_string()));
    }
    return out;
}

namespace {

std::string form_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

} // namespace

std::vector<std::pair<std::string, std::string>> parse_form(std::string_view body) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const auto field = body.substr(0, amp);
        const auto eq = field.find('=');
        out.emplace_back(form_decode(field.substr(0, eq)), eq == std::string_view::npos
                                                               ? std::string()
                                                               : form_decode(field.substr(eq + 1)));
        body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    }
    return out;
}

} // namespace sqs2pg::sqs::test
