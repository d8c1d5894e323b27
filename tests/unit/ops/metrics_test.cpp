// The registry renders valid Prometheus text (format 0.0.4): parsed back by an
// independent parser here, every sample carries the value the code set.
#include <sqs2pg/ops/metrics.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace sqs2pg::ops {
namespace {

// A strict reader of the text format: HELP/TYPE comments and samples
// `name{label="value",...} number`. Fails the test on any line it does not understand.
struct exposition {
    std::map<std::string, std::string> help;
    std::map<std::string, std::string> type;
    // key: name + "{" + sorted, unescaped labels + "}"
    std::map<std::string, double> samples;
    std::vector<std::string> order; // sample keys in output order

    double at(const std::string& key) const {
        auto it = samples.find(key);
        if (it == samples.end())
            throw std::runtime_error("no sample " + key);
        return it->second;
    }
};

std::string unescape(std::string_view s, bool label) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        if (++i == s.size())
            throw std::runtime_error("dangling backslash");
        if (s[i] == 'n')
            out += '\n';
        else if (s[i] == '\\')
            out += '\\';
        else if (label && s[i] == '"')
            out += '"';
        else
            throw std::runtime_error("bad escape");
    }
    return out;
}

double parse_value(const std::string& v) {
    if (v == "+Inf")
        return HUGE_VAL;
    if (v == "-Inf")
        return -HUGE_VAL;
    if (v == "NaN")
        return NAN;
    std::size_t used = 0;
    const double d = std::stod(v, &used);
    if (used != v.size())
        throw std::runtime_error("bad number " + v);
    return d;
}

exposition parse(const std::string& text) {
    exposition e;
    if (!text.empty() && text.back() != '\n')
        throw std::runtime_error("exposition must end with a newline");
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("# HELP ")) {
            const auto rest = line.substr(7);
            const auto sp = rest.find(' ');
            e.help[rest.substr(0, sp)] = unescape(rest.substr(sp + 1), false);
            continue;
        }
        if (line.starts_with("# TYPE ")) {
            const auto rest = line.substr(7);
            const auto sp = rest.find(' ');
            e.type[rest.substr(0, sp)] = rest.substr(sp + 1);
            continue;
        }
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ')
            ++i;
        std::string key = line.substr(0, i);
        std::map<std::string, std::string> labels;
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (line.at(i) != '}') {
                const auto eq = line.find('=', i);
                const std::string name = line.substr(i, eq - i);
                if (line.at(eq + 1) != '"')
                    throw std::runtime_error("label value must be quoted: " + line);
                std::size_t j = eq + 2;
                std::string raw;
                while (line.at(j) != '"') {
                    if (line[j] == '\\') {
                        raw += line[j++];
                    }
                    raw += line[j++];
                }
                labels[name] = unescape(raw, true);
                i = j + 1;
                if (line.at(i) == ',')
                    ++i;
            }
            ++i;
        }
        if (line.at(i) != ' ')
            throw std::runtime_error("expected a space before the value: " + line);
        key += "{";
        bool first = true;
        for (const auto& [k, v] : labels) {
            key += (first ? "" : ",") + k + "=" + v;
            first = false;
        }
        key += "}";
        if (e.samples.count(key))
            throw std::runtime_error("duplicate sample " + key);
        e.samples[key] = parse_value(line.substr(i + 1));
        e.order.push_back(key);
    }
    return e;
}

TEST(Metrics, CountersAndGaugesRenderWithHelpAndType) {
    registry reg;
    auto& received = reg.add_counter("sqs2pg_received_total", "Messages received.");
    auto& in_flight = reg.add_gauge("sqs2pg_in_flight_messages", "Messages in flight.");
    received.inc();
    received.inc(41);
    in_flight.set(10);
    in_flight.sub(3);
    in_flight.add(1);

    const auto e = parse(reg.render());
    EXPECT_EQ(e.type.at("sqs2pg_received_total"), "counter");
    EXPECT_EQ(e.type.at("sqs2pg_in_flight_messages"), "gauge");
    EXPECT_EQ(e.help.at("sqs2pg_received_total"), "Messages received.");
    EXPECT_EQ(e.at("sqs2pg_received_total{}"), 42);
    EXPECT_EQ(e.at("sqs2pg_in_flight_messages{}"), 8);
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
    registry reg;
    auto& h = reg.add_histogram("sqs2pg_batch_latency_seconds", "Batch latency.", {0.01, 0.1, 1});
    for (double v : {0.005, 0.01, 0.05, 0.5, 0.7, 3.0})
        h.observe(v);

    const auto e = parse(reg.render());
    EXPECT_EQ(e.type.at("sqs2pg_batch_latency_seconds"), "histogram");
    EXPECT_EQ(e.at("sqs2pg_batch_latency_seconds_bucket{le=0.01}"), 2); // le is inclusive
    EXPECT_EQ(e.at("sqs2pg_batch_latency_seconds_bucket{le=0.1}"), 3);
    EXPECT_EQ(e.at("sqs2pg_batch_latency_seconds_bucket{le=1}"), 5);
    EXPECT_EQ(e.at("sqs2pg_batch_latency_seconds_bucket{le=+Inf}"), 6);
    EXPECT_EQ(e.at("sqs2pg_batch_latency_seconds_count{}"), 6);
    EXPECT_DOUBLE_EQ(e.at("sqs2pg_batch_latency_seconds_sum{}"), 4.265);
    // Buckets come in increasing order, +Inf last, then _sum and _count.
    ASSERT_EQ(e.order.size(), 6u);
    EXPECT_EQ(e.order[3], "sqs2pg_batch_latency_seconds_bucket{le=+Inf}");
}

TEST(Metrics, HistogramIgnoresNaN) {
    registry reg;
    auto& h = reg.add_histogram("sqs2pg_h", "h", {1});
    h.observe(0.5);
    h.observe(std::nan(""));
    const auto e = parse(reg.render());
    EXPECT_EQ(e.at("sqs2pg_h_count{}"), 1);
    EXPECT_EQ(e.at("sqs2pg_h_sum{}"), 0.5);
}

TEST(Metrics, EmptyHistogramStillRendersEveryBucket) {
    registry reg;
    reg.add_histogram("sqs2pg_x_seconds", "x", latency_buckets_seconds());
    const auto e = parse(reg.render());
    EXPECT_EQ(e.samples.size(), latency_buckets_seconds().size() + 3);
    EXPECT_EQ(e.at("sqs2pg_x_seconds_bucket{le=0.0025}"), 0);
    EXPECT_EQ(e.at("sqs2pg_x_seconds_count{}"), 0);
}

TEST(Metrics, LabelledSeriesShareOneFamily) {
    registry reg;
    auto& sqs = reg.add_counter("sqs2pg_retries_total", "Retries.", {{"target", "sqs"}});
    auto& pg = reg.add_counter("sqs2pg_retries_total", "Retries.", {{"target", "pg"}});
    sqs.inc(2);
    pg.inc(5);
    const auto text = reg.render();
    // One HELP and one TYPE line for the family.
    EXPECT_EQ(text.find("# TYPE sqs2pg_retries_total"), text.rfind("# TYPE sqs2pg_retries_total"));
    const auto e = parse(text);
    EXPECT_EQ(e.at("sqs2pg_retries_total{target=sqs}"), 2);
    EXPECT_EQ(e.at("sqs2pg_retries_total{target=pg}"), 5);
}

TEST(Metrics, HistogramLabelsComeBeforeLe) {
    registry reg;
    reg.add_histogram("sqs2pg_h", "h", {1}, {{"stage", "write"}}).observe(0.5);
    const auto text = reg.render();
    EXPECT_NE(text.find("sqs2pg_h_bucket{stage=\"write\",le=\"1\"} 1\n"), std::string::npos)
        << text;
    const auto e = parse(text);
    EXPECT_EQ(e.at("sqs2pg_h_sum{stage=write}"), 0.5);
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
    registry reg;
    reg.add_gauge("sqs2pg_g", "line one\nback\\slash \"quotes stay\"", {{"v", "a\"b\\c\nd"}})
        .set(-4);
    const auto text = reg.render();
    EXPECT_NE(text.find("# HELP sqs2pg_g line one\\nback\\\\slash \"quotes stay\"\n"),
              std::string::npos)
        << text;
    const auto e = parse(text);
    EXPECT_EQ(e.help.at("sqs2pg_g"), "line one\nback\\slash \"quotes stay\"");
    EXPECT_EQ(e.at("sqs2pg_g{v=a\"b\\c\nd}"), -4);
}

TEST(Metrics, StateSetHasExactlyOneCurrentState) {
    registry reg;
    auto& pg = reg.add_state_set("sqs2pg_connection_state", "State.", "state",
                                 {"disconnected", "connecting", "connected"}, {{"target", "pg"}});
    auto e = parse(reg.render());
    EXPECT_EQ(e.at("sqs2pg_connection_state{state=disconnected,target=pg}"), 1);
    EXPECT_EQ(e.at("sqs2pg_connection_state{state=connected,target=pg}"), 0);
    pg.set(2);
    e = parse(reg.render());
    EXPECT_EQ(e.at("sqs2pg_connection_state{state=disconnected,target=pg}"), 0);
    EXPECT_EQ(e.at("sqs2pg_connection_state{state=connecting,target=pg}"), 0);
    EXPECT_EQ(e.at("sqs2pg_connection_state{state=connected,target=pg}"), 1);
    EXPECT_EQ(pg.current(), 2u);
    pg.set(7); // out of range: ignored
    EXPECT_EQ(pg.current(), 2u);
}

TEST(Metrics, RejectsBadNamesAndConflicts) {
    registry reg;
    EXPECT_THROW(reg.add_counter("received_total", "no prefix"), std::invalid_argument);
    EXPECT_THROW(reg.add_counter("sqs2pg_bad-name", "dash"), std::invalid_argument);
    EXPECT_THROW(reg.add_counter("sqs2pg_", "prefix only"), std::invalid_argument);
    EXPECT_THROW(reg.add_gauge("sqs2pg_g", "x", {{"1abc", "v"}}), std::invalid_argument);
    EXPECT_THROW(reg.add_gauge("sqs2pg_g", "x", {{"__reserved", "v"}}), std::invalid_argument);
    EXPECT_THROW(reg.add_histogram("sqs2pg_h", "x", {1}, {{"le", "1"}}), std::invalid_argument);
    EXPECT_THROW(reg.add_histogram("sqs2pg_h", "x", {2, 1}), std::invalid_argument);
    EXPECT_THROW(reg.add_histogram("sqs2pg_h", "x", {}), std::invalid_argument);
    reg.add_counter("sqs2pg_c_total", "c");
    EXPECT_THROW(reg.add_counter("sqs2pg_c_total", "c"), std::invalid_argument); // twice
    EXPECT_THROW(reg.add_gauge("sqs2pg_c_total", "c", {{"a", "b"}}), std::invalid_argument);
    EXPECT_THROW(reg.add_counter("sqs2pg_c_total", "other help", {{"a", "b"}}),
                 std::invalid_argument);
}

TEST(Metrics, ExponentialBuckets) {
    const auto b = exponential_buckets(0.001, 10, 4);
    ASSERT_EQ(b.size(), 4u);
    EXPECT_DOUBLE_EQ(b[0], 0.001);
    EXPECT_DOUBLE_EQ(b[3], 1.0);
    EXPECT_THROW(exponential_buckets(0, 2, 3), std::invalid_argument);
    EXPECT_THROW(exponential_buckets(1, 1, 3), std::invalid_argument);
}

TEST(Metrics, ViewsReadTheirValueAtEachRender) {
    registry reg;
    std::uint64_t count = 1;
    std::int64_t level = -2;
    std::size_t state = 0;
    reg.add_counter_view("sqs2pg_v_total", "a view", [&] { return count; }, {{"k", "x"}});
    reg.add_gauge_view("sqs2pg_level", "a gauge view", [&] { return level; });
    reg.add_state_set_view("sqs2pg_state", "states", "state", {"down", "up"},
                           [&] { return state; });
    add_build_info(reg, "1.2.3");
    auto e = parse(reg.render());
    EXPECT_EQ(e.at("sqs2pg_v_total{k=x}"), 1);
    EXPECT_EQ(e.at("sqs2pg_level{}"), -2);
    EXPECT_EQ(e.at("sqs2pg_state{state=down}"), 1);
    EXPECT_EQ(e.at("sqs2pg_state{state=up}"), 0);
    EXPECT_EQ(e.at("sqs2pg_build_info{version=1.2.3}"), 1);
    count = 42;
    level = 7;
    state = 1;
    e = parse(reg.render());
    EXPECT_EQ(e.at("sqs2pg_v_total{k=x}"), 42);
    EXPECT_EQ(e.at("sqs2pg_level{}"), 7);
    EXPECT_EQ(e.at("sqs2pg_state{state=down}"), 0);
    EXPECT_EQ(e.at("sqs2pg_state{state=up}"), 1);
    EXPECT_EQ(e.type.at("sqs2pg_v_total"), "counter");
    EXPECT_EQ(e.type.at("sqs2pg_state"), "gauge");
}

} // namespace
} // namespace sqs2pg::ops
