// What the files of `sqs2pg rekey` share, private to them: the masked columns by field,
// and why a column's mode cannot be re-keyed (rekey_options.cpp).
#pragma once

#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/pg/rekey.hpp>

#include <array>
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

} // namespace sqs2pg::app::rekey_detail
