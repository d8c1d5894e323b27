// What the files of `sqs2pg rekey` share, private to them: the masked columns by field,
// and why a column's mode cannot be re-keyed (rekey_options.cpp); what a pass found and
// how it is told: the summary's JSON, the failure lines, the progress line
// (rekey_report.cpp). The run itself is rekey.cpp.
#pragma once

#include <sqs2pg/app/shared_options.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/pg/connection.hpp>
#include <sqs2pg/pg/names.hpp>
#include <sqs2pg/pg/rekey.hpp>

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>

namespace sqs2pg::app::rekey_detail {

// Both masked fields, in column order (a named array: an initializer list in a coroutine
// trips GCC 12, docs/sqs.md).
inline constexpr std::array<mask::field, 2> both_fields{mask::field::ip, mask::field::device_id};

/// The column a field is masked into.
pg::masked_column column_of(mask::field f);
/// Its name: masked_ip or masked_device_id.
std::string_view column_text(mask::field f);
/// Why a column in mode `m` is not re-keyed; "" when it can be.
std::string one_way_reason(mask::field f, mask::mode m);

/// The table as pg names it, and as the summary and messages spell it.
pg::qualified_name qualified(const table_name& t);
std::string table_text(const table_name& t);

/// What one column's pass did.
struct column_result {
    mask::field field{};
    std::uint64_t rows_rekeyed = 0;
    std::uint64_t values_rekeyed = 0;
    std::map<std::string, std::uint64_t> rows_by_mode;
    std::uint64_t rows_failed = 0;
    std::map<std::string, std::uint64_t> failures;   ///< rows by failure_code()
    std::map<std::string, std::string> failure_text; ///< failure_code() -> the sentence
    std::set<std::string> unknown_keys;              ///< key ids not in the keyring
    std::uint64_t blocks = 0;                        ///< blocks scanned
    bool finished = false;                           ///< the pass reached the table's end
};

/// One line about a failed statement: the SQLSTATE in words where pg names it (never the
/// server's text, which can quote row data).
std::string pg_failure(const pg::connection& conn, const table_name& t,
                       boost::system::error_code ec);

/// The progress line on a terminal: redrawn at most every 200 ms.
class progress_line {
public:
    progress_line(std::ostream& err, bool enabled)
        : err_(err)
        , enabled_(enabled) {}

    void update(std::string_view column, std::uint64_t block, std::uint64_t blocks,
                std::uint64_t rows, bool force = false);

    void finish();

private:
    std::ostream& err_;
    bool enabled_;
    std::optional<std::chrono::steady_clock::time_point> last_;
    std::size_t drawn_ = 0;
};

/// Items as "a, b, c", each made printable.
std::string joined(const std::set<std::string>& items);
/// The summary's name for why a value could not be moved.
std::string_view failure_code(boost::system::error_code ec);
/// The key id `value` names ("" if none), for messages.
std::string key_id_of(std::string_view value);
/// A column's part of the summary.
boost::json::object column_json(const column_result& r, mask::mode configured);

} // namespace sqs2pg::app::rekey_detail
