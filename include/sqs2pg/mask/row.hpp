// The mask stage's output: a parsed login plus its create_date, personal fields masked,
// as the record::login_row the Postgres writer stores.
#pragma once

#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/record/login.hpp>
#include <sqs2pg/record/row.hpp>

#include <boost/system/result.hpp>

#include <chrono>

namespace sqs2pg::mask {

/// The row for `login`: user_id, device_type, locale and app_version moved over, ip and
/// device_id masked by `m`. A reject (too_long, with the field's key from `map`) when a
/// masked value would not fit its varchar(256) column. `map` is only read during the call.
boost::system::result<record::login_row, record::reject>
to_row(record::login&& login, std::chrono::sys_days create_date, const masker& m,
       const record::field_map& map = record::field_map::defaults());

} // namespace sqs2pg::mask
