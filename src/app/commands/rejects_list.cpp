// `sqs2pg rejects list`: the records matching the filter, most recently seen first, as a
// table or JSON lines; no bodies, so no key.
#include "rejects_detail.hpp"

#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

namespace sqs2pg::app::rejects_detail {

namespace asio = boost::asio;

asio::awaitable<int> async_list(context& c) {
    pg::connection conn(co_await asio::this_coro::executor);
    if (!co_await async_open_pg(c, conn))
        co_return 1;
    const auto tables = tables_of(c.req.table);
    pg::reject_filter filter = c.req.filter;
    // One more than asked for tells whether there are more.
    filter.limit = c.req.filter.limit + 1;
    auto rows = co_await pg::async_list_rejects(conn, tables, filter);
    if (!rows) {
        c.say(pg_failure(conn, tables, rows.error()));
        co_return 1;
    }
    const bool more = rows->size() > c.req.filter.limit;
    if (more)
        rows->pop_back();
    if (c.req.format == rejects_format::json) {
        for (const auto& r : *rows)
            c.out << format_reject_json(r) << '\n';
    } else {
        c.out << format_reject_table(*rows, c.req.filter.include_replayed);
    }
    c.out << std::flush;
    if (rows->empty())
        c.say("no rejects match");
    else if (more)
        c.say(fmt::format("showing the {} most recently seen; more match (--limit N, or narrow "
                          "with --reason, --since, --until)",
                          rows->size()));
    co_return 0;
}

} // namespace sqs2pg::app::rejects_detail
