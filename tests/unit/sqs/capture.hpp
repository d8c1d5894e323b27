// Test helpers for the SQS codec: the captured moto responses under
// tests/data/sqs-responses/ as wire_responses, the request index, and a form decoder.
#pragma once

#include <sqs2pg/sqs/codec.hpp>

#include <boost/json/value.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sqs2pg::sqs::test {

/// One raw HTTP response file, split at the first CRLF CRLF.
struct capture {
    unsigned status = 0;
    std::map<std::string, std::string> headers; ///< lower-case names; last one wins
    std::string body;

    std::string header(const std::string& name) const;
    /// The view the codec takes; valid while this capture lives.
    wire_response wire() const;
};

/// Loads tests/data/sqs-responses/<file>; throws if it is missing or malformed.
capture load_capture(const std::string& file);

/// tests/data/sqs-responses/index.json, parsed.
const boost::json::value& capture_index();

/// The index entry of `file`.
const boost::json::object& index_entry(const std::string& file);

/// The form parameters of the request that produced `file` (query captures only).
std::vector<std::pair<std::string, std::string>> index_params(const std::string& file);

/// Decodes an x-www-form-urlencoded body ('+' is a space) into its pairs, in order.
std::vector<std::pair<std::string, std::string>> parse_form(std::string_view body);

} // namespace sqs2pg::sqs::test
