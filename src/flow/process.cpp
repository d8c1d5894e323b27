// The record + mask stage: parses and masks each received body, in chunks, and tells the
// core what became of it (a row, or a reject with its reason).
#include <sqs2pg/mask/row.hpp>
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/record/error.hpp>

#include "stages.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sqs2pg::flow::detail {

namespace {
/// Bodies processed between two turns of the other stages.
constexpr std::size_t chunk = 32;
} // namespace

process_result process_body(std::string_view body, std::chrono::sys_days create_date,
                            const mask::masker& masker, const record::field_map& fields,
                            std::string& field) {
    process_result p;
    auto parsed = record::parse_login(body, fields);
    if (!parsed) {
        p.reason = parsed.error().reason;
        field = std::move(parsed.error().field);
        return p;
    }
    auto row = mask::to_row(std::move(*parsed), create_date, masker, fields);
    if (!row) {
        p.reason = row.error().reason;
        field = std::move(row.error().field);
        return p;
    }
    p.row = std::move(*row);
    return p;
}

asio::awaitable<void> run_process(shell& s) {
    co_await asio::this_coro::throw_if_cancelled(false);
    std::string field;
    for (;;) {
        const auto tickets = s.core.take_unprocessed(chunk);
        if (tickets.empty()) {
            if (s.core.process_finished())
                break;
            co_await s.wait(wake::process);
            continue;
        }
        for (const ticket t : tickets) {
            const held_copy* c = s.core.copy(t);
            if (c == nullptr)
                continue;
            field.clear();
            process_result p = process_body(c->body, c->create_date, s.masker, s.fields, field);
            if (!p.row)
                // Codes and key names only: never the value, which may be personal data.
                ops::log(ops::level::info, "record.rejected",
                         {{"message_id", c->message_id},
                          {"reason", record::reject_code(p.reason)},
                          {"field", field}});
            s.core.processed(t, std::move(p), clock::now());
        }
        s.dispatch();
        co_await asio::post(s.ex, asio::use_awaitable); // the other stages' turn
    }
    s.dispatch();
}

} // namespace sqs2pg::flow::detail
