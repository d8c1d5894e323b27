// to_row: parsed login + create_date -> login_row with masked personal fields.
#include <sqs2pg/mask/row.hpp>

namespace sqs2pg::mask {

boost::system::result<record::login_row, record::reject> to_row(record::login&& login,
                                                                std::chrono::sys_days create_date,
                                                                const masker& m,
                                                                const record::field_map& map) {
    auto ip = m.mask(field::ip, login.ip);
    if (!ip)
        return record::reject{ip.error(), map.key(record::field::ip)};
    auto device = m.mask(field::device_id, login.device_id);
    if (!device)
        return record::reject{device.error(), map.key(record::field::device_id)};
    record::login_row row;
    row.user_id = std::move(login.user_id);
    row.device_type = std::move(login.device_type);
    row.masked_ip = std::move(*ip);
    row.masked_device_id = std::move(*device);
    row.locale = std::move(login.locale);
    row.app_version = login.app_version;
    row.create_date = create_date;
    return row;
}

} // namespace sqs2pg::mask
