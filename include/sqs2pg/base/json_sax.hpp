// What a SAX fast path needs (a message body, src/record/login_fast.cpp; SQS's JSON
// answers have a scanner of their own, src/sqs/json_scanner.hpp): it follows one plain
// shape in one pass of Boost.JSON's basic_parser and gives up at anything else, leaving
// the decision to its general path, which builds a json::value.
#pragma once

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace sqs2pg::base {

/// Base of a fast path's handler (CRTP): no limits of its own (the parser's depth limit
/// and the general path's rules apply), comments refused, and each object key gathered
/// from its parts and handed to `Derived::take_key(std::string_view key, error_code&)`.
template <class Derived>
class sax_fast_path {
public:
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    using error_code = boost::system::error_code;

    /// Any problem: an error that stops the parser, and the caller's general path decides.
    static bool give_up(error_code& ec) {
        ec = boost::json::error::syntax;
        return false;
    }

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_comment_part(boost::json::string_view, error_code& ec) { return give_up(ec); }
    bool on_comment(boost::json::string_view, error_code& ec) { return give_up(ec); }

    bool on_key_part(boost::json::string_view s, std::size_t, error_code&) {
        key_.append(s.data(), s.size());
        return true;
    }

    bool on_key(boost::json::string_view s, std::size_t, error_code& ec) {
        key_.append(s.data(), s.size());
        const bool ok = static_cast<Derived&>(*this).take_key(key_, ec);
        key_.clear();
        return ok;
    }

private:
    std::string key_;
};

/// Runs `p` over the whole of `body`: true when it parsed without an error, to the last
/// byte, and the handler says it saw the shape to its end (`finished()`).
template <class Handler>
bool run_sax(boost::json::basic_parser<Handler>& p, std::string_view body) {
    boost::system::error_code ec;
    const std::size_t n = p.write_some(false, body.data(), body.size(), ec);
    return !ec && n == body.size() && p.done() && p.handler().finished();
}

} // namespace sqs2pg::base
