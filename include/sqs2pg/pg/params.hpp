// Statement parameters as one PostgreSQL array per column, in text or binary wire format:
// a batch of any size binds 9 (rows) or 5 (rejects) parameters, far from the 65,535 limit.
#pragma once

#include <sqs2pg/pg/batch.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::pg {

/// The wire format of array parameters. Binary is the default: no quoting or escaping
/// on our side and no array-literal parsing on the server's (docs/postgres.md).
enum class param_format { text, binary };

/// Element types used in the parameter arrays, with their PostgreSQL type OIDs.
enum class element_type : std::uint32_t {
    text = 25,
    int4 = 23,
    int8 = 20,
    date = 1082,
    bytea = 17,
};

/// The OID of the array type whose elements are `t` (text[] = 1009, ...).
std::uint32_t array_oid(element_type t) noexcept;

/// Builds one array parameter value element by element.
class array_builder {
public:
    array_builder(param_format format, element_type type, std::size_t expected = 0);

    void add_text(std::string_view s);
    void add_int4(std::int32_t v);
    void add_int8(std::int64_t v);
    void add_date(std::chrono::sys_days d);
    void add_bytea(std::string_view bytes);
    void add_null();

    /// The encoded array; the builder is empty afterwards.
    std::string finish();

private:
    void begin_element();
    param_format format_;
    element_type type_;
    std::string out_;
    std::size_t count_ = 0;
    bool has_null_ = false;
};

/// Positional parameters for PQsendQueryPrepared; the pointers refer into `buffers`,
/// so a param_set must not be copied (moving keeps the strings' heap buffers).
struct param_set {
    std::vector<std::string> buffers;
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;

    param_set() = default;
    param_set(const param_set&) = delete;
    param_set& operator=(const param_set&) = delete;
    param_set(param_set&&) = default;
    param_set& operator=(param_set&&) = default;

    void add(std::string value, param_format format);
    int size() const noexcept { return static_cast<int>(values.size()); }
};

/// The 9 parameters of the rows statement (message_id, user_id, device_type, masked_ip,
/// masked_device_id, locale, app_version, create_date, sent_ms) for the rows `which` of
/// `rows`. A sent timestamp that is missing or outside years 1970..9999 is 0.
param_set encode_rows(std::span<const row_item> rows, std::span<const std::uint32_t> which,
                      param_format format);

/// The 5 parameters of the rejects statement (message_id, reason, receive_count,
/// sent_ms, sealed_body) for `items`. A sent timestamp outside years 1970..9999 is NULL.
param_set encode_rejects(std::span<const reject_item* const> items, param_format format);

/// Parses a one-dimensional integer array in text output format ("{1,5,7}"), as the
/// rows statement returns the positions it skipped. False if `text` is not one.
bool parse_int_array(std::string_view text, std::vector<std::uint32_t>& out);

} // namespace sqs2pg::pg
