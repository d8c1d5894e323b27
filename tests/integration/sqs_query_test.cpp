// The moto_server that the test command starts speaks the SQS query protocol and
// checks SigV4 signatures: a minimal signed HTTP call (Beast, no SQS client) sends and
// receives a message. The client's own tests are in sqs_client_test.cpp.
#include <sqs2pg/aws/signer.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/sqs/codec.hpp>

#include "test_env.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <chrono>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& params) {
    std::string out;
    for (const auto& [k, v] : params)
        sqs2pg::sqs::append_form_field(out, k, v);
    return out;
}

struct endpoint {
    std::string host, port;
};

class signed_sqs {
public:
    signed_sqs()
        : url_(sqs2pg::test::require_env("SQS2PG_TEST_SQS_ENDPOINT"))
        , access_key_(sqs2pg::test::require_env("SQS2PG_TEST_AWS_ACCESS_KEY_ID"))
        , secret_key_(sqs2pg::test::require_env("SQS2PG_TEST_AWS_SECRET_ACCESS_KEY"))
        , region_(sqs2pg::test::require_env("SQS2PG_TEST_AWS_REGION")) {
        const auto hostport = url_.substr(url_.find("://") + 3);
        ep_ = {hostport.substr(0, hostport.find(':')), hostport.substr(hostport.find(':') + 1)};
    }

    // POSTs the form to `path` signed with `secret` (default: the right one);
    // returns the status and the body.
    std::pair<unsigned, std::string>
    call(const std::string& path, const std::vector<std::pair<std::string, std::string>>& params,
         const std::string* secret = nullptr) {
        const std::string host = ep_.host + ":" + ep_.port;
        http::request<http::string_body> req{http::verb::post, path, 11};
        req.set(http::field::host, host);
        req.set(http::field::content_type, "application/x-www-form-urlencoded; charset=utf-8");
        req.body() = form_encode(params);
        req.prepare_payload();
        sqs2pg::aws::credentials creds;
        creds.access_key_id = access_key_;
        creds.secret_access_key = secret ? *secret : secret_key_;
        sqs2pg::aws::signer(region_, "sqs").sign(req, creds, std::chrono::system_clock::now());

        asio::io_context ioc;
        boost::beast::tcp_stream stream(ioc);
        stream.expires_after(std::chrono::seconds(30));
        stream.connect(asio::ip::tcp::resolver(ioc).resolve(ep_.host, ep_.port));
        http::write(stream, req);
        boost::beast::flat_buffer buffer;
        http::response<http::string_body> res;
        http::read(stream, buffer, res);
        return {res.result_int(), res.body()};
    }

    const std::string& url() const { return url_; }

private:
    std::string url_, access_key_, secret_key_, region_;
    endpoint ep_;
};

std::string first_text(const std::string& xml, const char* name) {
    pugi::xml_document doc;
    if (!doc.load_buffer(xml.data(), xml.size()))
        return {};
    const auto node =
        doc.find_node([&](pugi::xml_node n) { return std::string(n.name()) == name; });
    return node.text().get();
}

TEST(SqsService, SignedSendAndReceiveRoundTrip) {
    signed_sqs sqs;
    const std::string name = sqs2pg::test::unique_name("it_query_");
    auto [status, created] =
        sqs.call("/", {{"Action", "CreateQueue"}, {"QueueName", name}, {"Version", "2012-11-05"}});
    ASSERT_EQ(status, 200u) << created;
    const std::string queue_url = first_text(created, "QueueUrl");
    ASSERT_NE(queue_url.find(name), std::string::npos) << created;
    const std::string path = queue_url.substr(queue_url.find('/', queue_url.find("://") + 3));

    const std::string body = R"({"ip": "10.0.0.1", "note": "a b+c&d=e%f ünïcödé"})";
    auto [sent_status, sent] = sqs.call(
        path, {{"Action", "SendMessage"}, {"MessageBody", body}, {"Version", "2012-11-05"}});
    ASSERT_EQ(sent_status, 200u) << sent;
    EXPECT_EQ(first_text(sent, "MD5OfMessageBody"), sqs2pg::base::md5_hex(body));

    auto [recv_status, received] = sqs.call(path, {{"Action", "ReceiveMessage"},
                                                   {"MaxNumberOfMessages", "10"},
                                                   {"WaitTimeSeconds", "1"},
                                                   {"Version", "2012-11-05"}});
    ASSERT_EQ(recv_status, 200u) << received;
    EXPECT_EQ(first_text(received, "Body"), body);
    EXPECT_EQ(first_text(received, "MD5OfBody"), sqs2pg::base::md5_hex(body));

    auto [del_status, deleted] =
        sqs.call(path, {{"Action", "DeleteQueue"}, {"Version", "2012-11-05"}});
    EXPECT_EQ(del_status, 200u) << deleted;
}

TEST(SqsService, RejectsAWrongSignature) {
    signed_sqs sqs;
    const std::string wrong = "not-the-secret";
    auto [status, body] =
        sqs.call("/", {{"Action", "ListQueues"}, {"Version", "2012-11-05"}}, &wrong);
    EXPECT_EQ(status, 403u);
    EXPECT_EQ(first_text(body, "Code"), "SignatureDoesNotMatch");
}

} // namespace
