// Query protocol answers: XML read with pugixml by local element names (namespace or
// not, AWS's or moto's error shapes); plain ReceiveMessage and batch successes take the
// fast path of xml_fast.cpp first.
#include <sqs2pg/base/encoding.hpp>

#include "codec_detail.hpp"

#include <pugixml.hpp>

namespace sqs2pg::sqs::detail {
namespace {

// ---- XML reading ---------------------------------------------------------------------

std::string_view local_name(const pugi::xml_node& n) noexcept {
    std::string_view name = n.name();
    if (const auto colon = name.rfind(':'); colon != std::string_view::npos)
        name.remove_prefix(colon + 1);
    return name;
}

pugi::xml_node child(const pugi::xml_node& parent, std::string_view name) noexcept {
    for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling())
        if (c.type() == pugi::node_element && local_name(c) == name)
            return c;
    return {};
}

// The first element called `name` in document order (pre-order, `root` itself first).
// Iterative, following parent links: a recursive search took one stack frame per level
// and a hostile body nested 200,000 deep overflowed the stack.
pugi::xml_node find(const pugi::xml_node& root, std::string_view name) noexcept {
    pugi::xml_node n = root;
    while (n) {
        if (n.type() == pugi::node_element && local_name(n) == name)
            return n;
        if (const auto first = n.first_child()) {
            n = first;
            continue;
        }
        while (n != root && !n.next_sibling())
            n = n.parent();
        if (n == root)
            return {};
        n = n.next_sibling();
    }
    return {};
}

// Whether an element lies deeper than `limit` (the document element is level 1). The
// same iterative walk over the whole tree; pugixml's own parser is iterative too.
bool deeper_than(const pugi::xml_document& doc, std::size_t limit) noexcept {
    std::size_t depth = 1;
    pugi::xml_node n = doc.first_child();
    while (n) {
        if (n.type() == pugi::node_element && depth > limit)
            return true;
        if (const auto first = n.first_child()) {
            n = first;
            ++depth;
            continue;
        }
        while (!n.next_sibling()) {
            n = n.parent();
            --depth;
            if (!n || n == doc)
                return false;
        }
        n = n.next_sibling();
    }
    return false;
}

// All character data of an element (text and CDATA pieces joined).
std::string text(const pugi::xml_node& n) {
    std::string out;
    for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling())
        if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata)
            out += c.value();
    return out;
}

std::string child_text(const pugi::xml_node& parent, std::string_view name) {
    return text(child(parent, name));
}

// Entity and character references decoded (&#xD; must come back as \r: SQS's MD5 is over
// the original bytes); no end-of-line normalisation (a literal CR is what was sent);
// whitespace-only text kept when it is an element's only content (a body of " ").
constexpr unsigned parse_options =
    (pugi::parse_default & ~pugi::parse_eol) | pugi::parse_ws_pcdata_single;

enum class loaded { ok, unreadable, too_deep };

// Parses `body`; a document nested deeper than max_response_depth is refused before
// anything else looks at it.
loaded load(pugi::xml_document& doc, std::string_view body) {
    if (!doc.load_buffer(body.data(), body.size(), parse_options, pugi::encoding_utf8))
        return loaded::unreadable;
    return deeper_than(doc, max_response_depth) ? loaded::too_deep : loaded::ok;
}

std::string request_id_of(const pugi::xml_node& root, const wire_response& w) {
    if (auto id = find(root, "RequestId"))
        return text(id);
    return std::string(w.request_id);
}

bool parse_bool(std::string_view s) noexcept {
    return s == "true" || s == "True" || s == "1";
}

message read_message(const pugi::xml_node& m) {
    message out;
    for (pugi::xml_node c = m.first_child(); c; c = c.next_sibling()) {
        if (c.type() != pugi::node_element)
            continue;
        const auto name = local_name(c);
        if (name == "MessageId")
            out.message_id = text(c);
        else if (name == "ReceiptHandle")
            out.receipt_handle = text(c);
        else if (name == "Body") {
            out.body = text(c);
            out.has_body = true;
        } else if (name == "MD5OfBody") {
            out.md5_of_body = text(c);
            out.has_md5_of_body = true;
        } else if (name == "MD5OfMessageAttributes")
            out.md5_of_message_attributes = text(c);
        else if (name == "Attribute")
            out.attributes.emplace_back(child_text(c, "Name"), child_text(c, "Value"));
        else if (name == "MessageAttribute") {
            const auto value = child(c, "Value");
            message_attribute a{child_text(c, "Name"), child_text(value, "DataType"), {}};
            if (const auto bin = child(value, "BinaryValue")) {
                // Undecodable base64 is kept as text: the attribute MD5 then fails and the
                // message is rejected instead of processed with made-up bytes.
                std::string b64 = text(bin);
                auto bytes = base::from_base64(b64);
                a.value = bytes ? std::move(*bytes) : std::move(b64);
            } else {
                a.value = child_text(value, "StringValue");
            }
            out.message_attributes.push_back(std::move(a));
        }
    }
    return out;
}

} // namespace

// ---- decoders ------------------------------------------------------------------------

namespace {

// AWS: ErrorResponse/Error + RequestId; moto's auth errors: ErrorResponse/Errors/Error
// without RequestId. nullopt when `root` is not an error document.
std::optional<error> error_from(std::string_view action, const pugi::xml_node& root,
                                const wire_response& w) {
    const auto root_name = local_name(root);
    if (root_name != "ErrorResponse" && root_name != "Response" && root_name != "Error")
        return std::nullopt;
    const auto err = find(root, "Error");
    if (!err)
        return std::nullopt;
    std::string code = child_text(err, "Code");
    const errc kind = classify(code, w.status); // before `code` is moved from
    error e = make_error(action, kind, w, std::move(code));
    e.request_id = request_id_of(root, w);
    const auto type = child_text(err, "Type");
    e.sender_fault = type.empty() ? (w.status < 500) : type != "Receiver";
    // moto adds a lower-case <message> after <Message>; prefer the AWS one.
    auto msg = child(err, "Message");
    if (!msg)
        msg = child(err, "message");
    e.message = text(msg);
    return e;
}

} // namespace

std::optional<error> xml_error(std::string_view action, const wire_response& w) {
    pugi::xml_document doc;
    switch (load(doc, w.body)) {
    case loaded::unreadable:
        return std::nullopt;
    case loaded::too_deep:
        return too_deep_error(action, w);
    case loaded::ok:
        break;
    }
    return error_from(action, doc.document_element(), w);
}

result<raw_output> xml_decode(std::string_view action, output_shape shape, const wire_response& w) {
    const auto batch = [action](std::string_view body) { return xml_batch_fast(action, body); };
    if (auto out = fast_decode(shape, w, xml_receive_fast, batch))
        return std::move(*out);
    return xml_decode_general(action, shape, w);
}

result<raw_output> xml_decode_general(std::string_view action, output_shape shape,
                                      const wire_response& w) {
    pugi::xml_document doc;
    const auto bad = [&] { return make_error(action, errc::bad_response, w); };
    // Actions without output may answer with an empty body.
    if (shape == output_shape::none &&
        w.body.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return raw_output{};
    switch (load(doc, w.body)) {
    case loaded::unreadable:
        return bad();
    case loaded::too_deep:
        return too_deep_error(action, w);
    case loaded::ok:
        break;
    }
    const auto root = doc.document_element();
    if (auto e = error_from(action, root, w))
        return std::move(*e);
    const auto root_name = local_name(root);
    if (!root_name.starts_with(action) || root_name.substr(action.size()) != "Response")
        return bad();
    std::string result_name(action);
    result_name += "Result";
    const auto res = child(root, result_name);

    raw_output out;
    switch (shape) {
    case output_shape::none:
        break;
    case output_shape::sent:
        out.sent = {{},
                    child_text(res, "MessageId"),
                    child_text(res, "MD5OfMessageBody"),
                    child_text(res, "MD5OfMessageAttributes"),
                    child_text(res, "SequenceNumber")};
        if (out.sent.message_id.empty())
            return bad();
        break;
    case output_shape::queue_url:
        out.queue_url = child_text(res, "QueueUrl");
        if (out.queue_url.empty())
            return bad();
        break;
    case output_shape::attributes:
        for (pugi::xml_node c = res.first_child(); c; c = c.next_sibling())
            if (c.type() == pugi::node_element && local_name(c) == "Attribute")
                out.attributes.insert_or_assign(child_text(c, "Name"), child_text(c, "Value"));
        break;
    case output_shape::messages:
        for (pugi::xml_node c = res.first_child(); c; c = c.next_sibling())
            if (c.type() == pugi::node_element && local_name(c) == "Message")
                out.messages.push_back(read_message(c));
        break;
    case output_shape::batch: {
        // <Action>ResultEntry for successes, BatchResultErrorEntry for failures, mixed
        // in one Result element under HTTP 200.
        std::string ok_name(action);
        ok_name += "ResultEntry";
        out.batch.successful.reserve(max_batch_entries); // what a valid answer can hold
        for (pugi::xml_node c = res.first_child(); c; c = c.next_sibling()) {
            if (c.type() != pugi::node_element)
                continue;
            const auto name = local_name(c);
            if (name == ok_name) {
                out.batch.successful.push_back({child_text(c, "Id"), child_text(c, "MessageId"),
                                                child_text(c, "MD5OfMessageBody"),
                                                child_text(c, "MD5OfMessageAttributes"),
                                                child_text(c, "SequenceNumber")});
            } else if (name == "BatchResultErrorEntry") {
                out.batch.failed.push_back({child_text(c, "Id"), child_text(c, "Code"),
                                            parse_bool(child_text(c, "SenderFault")),
                                            child_text(c, "Message")});
            }
        }
        break;
    }
    }
    return out;
}

} // namespace sqs2pg::sqs::detail
