// The HTTP message types every module passes around: Beast requests and responses
// with string bodies (SQS bodies are small enough to hold whole).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace sqs2pg::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

} // namespace sqs2pg::http
