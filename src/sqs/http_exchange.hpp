// Inside the sqs module: what an SQS call is in HTTP terms, apart from the client that
// sends it - the request written out and signed, the response fields the codec reads.
#pragma once
#include <sqs2pg/aws/credentials.hpp>
#include <sqs2pg/aws/signer.hpp>
#include <sqs2pg/http/client.hpp>
#include <sqs2pg/http/message.hpp>
#include <sqs2pg/sqs/codec.hpp>

#include <chrono>
#include <string_view>

namespace sqs2pg::sqs::detail {

/// `o` keeping only the response header fields wire_of() reads: the transport drops the
/// others as it parses (an emulator's answer carries about fifteen, each a heap
/// allocation in Beast's fields).
http::client_options transport_options(http::client_options o);

/// The response as the codec reads it; views into `res`.
wire_response wire_of(const http::response& res);

/// The HTTP request of `w` to `host`, signed with `creds` at `now`, written out as text
/// (a handful of appends instead of seven allocated, ordered Beast fields per request).
/// Signed over Host, Content-Type and X-Amz-Target as botocore signs, and X-Amz-Date
/// (and the token); the transport adds User-Agent and Content-Length, unsigned.
http::raw_request signed_request(aws::signer& signer, std::string_view host, const wire_request& w,
                                 const aws::credentials& creds,
                                 std::chrono::system_clock::time_point now);

} // namespace sqs2pg::sqs::detail
