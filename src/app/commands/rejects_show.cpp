// `sqs2pg rejects show`: each reject's record and its body, opened with the keyring.
// Bodies hold personal data: they go to stdout only, never to a log.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/base/time.hpp>

#include "rejects_detail.hpp"

#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

namespace sqs2pg::app::rejects_detail {

namespace asio = boost::asio;

namespace {

constexpr auto personal_data_warning =
    "the bodies below contain personal data (unmasked ip and device_id): keep them out of "
    "tickets, chats and logs, and do not store them unencrypted";

} // namespace

asio::awaitable<int> async_show(context& c) {
    pg::connection conn(co_await asio::this_coro::executor);
    if (!co_await async_open_pg(c, conn))
        co_return 1;
    const auto tables = tables_of(c.req.table);
    bool warned = false;
    int failures = 0;
    for (const auto& id : c.req.message_ids) {
        auto found = co_await pg::async_find_reject(conn, tables, id);
        if (!found) {
            c.say(pg_failure(conn, tables, found.error()));
            co_return 1;
        }
        if (!*found) {
            c.say(fmt::format("{}: no such reject", base::printable(id)));
            ++failures;
            continue;
        }
        const pg::reject_record& r = **found;
        auto body = open_body(*c.sealer, r);
        if (body && !warned) {
            c.say(personal_data_warning);
            warned = true;
        }
        if (c.req.format == rejects_format::json) {
            if (body)
                c.out << format_reject_json(r, std::string_view(*body)) << '\n';
            else
                c.out << format_reject_json(r, std::nullopt, body.error().code) << '\n';
        } else {
            c.out << "message id:     " << base::printable(r.message_id) << '\n'
                  << "reason:         " << base::printable(r.reason) << '\n'
                  << "receive count:  " << r.receive_count << '\n'
                  << "sent at:        " << time_or_dash(r.sent_at) << '\n'
                  << "first seen:     " << base::format_iso8601(r.first_seen, false) << '\n'
                  << "last seen:      " << base::format_iso8601(r.last_seen, false) << '\n'
                  << "replayed:       " << replayed_text(r) << '\n';
            if (body) {
                c.out << "body:           " << body->size() << " bytes\n";
                if (c.env.stdout_is_tty)
                    c.out << escape_for_terminal(*body);
                else
                    c.out << *body;
                c.out << "\n\n";
            } else {
                c.out << "body:           cannot be opened (" << body.error().code << ")\n\n";
            }
        }
        c.out << std::flush;
        if (body) {
            base::cleanse(*body);
        } else {
            c.say(fmt::format("{}: {}", base::printable(id), body.error().text));
            ++failures;
        }
    }
    co_return failures == 0 ? 0 : 1;
}

} // namespace sqs2pg::app::rejects_detail
