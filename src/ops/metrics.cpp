// Metrics registry and its Prometheus text rendering (exposition format 0.0.4).
// Label sets are escaped and joined once at registration, so a scrape only formats numbers.
#include <sqs2pg/ops/metrics.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>

namespace sqs2pg::ops {
namespace {

enum metric_type : int { type_counter, type_gauge, type_histogram };

constexpr std::string_view type_name(int t) {
    switch (t) {
    case type_counter:
        return "counter";
    case type_gauge:
        return "gauge";
    default:
        return "histogram";
    }
}

constexpr std::string_view name_prefix = "sqs2pg_";

bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
    return is_name_start(c) || (c >= '0' && c <= '9');
}

// Metric names may also contain ':', but that is reserved for recording rules.
bool valid_name(std::string_view s) {
    return !s.empty() && is_name_start(s.front()) && std::all_of(s.begin(), s.end(), is_name_char);
}

void append_escaped(std::string& out, std::string_view s, bool quote_too) {
    for (char c : s) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (quote_too && c == '"')
            out += "\\\"";
        else
            out += c;
    }
}

// Numbers as Prometheus parses them (Go ParseFloat): shortest round-trip form, and the
// spellings +Inf, -Inf and NaN.
void append_double(std::string& out, double v) {
    if (std::isnan(v))
        out += "NaN";
    else if (std::isinf(v))
        out += v > 0 ? "+Inf" : "-Inf";
    else
        fmt::format_to(std::back_inserter(out), "{}", v);
}

template <class Range>
std::string render_labels(const Range& labels, bool histogram) {
    std::string out;
    for (const auto& [k, v] : labels) {
        if (!valid_name(k) || k.starts_with("__"))
            throw std::invalid_argument(fmt::format("metrics: invalid label name '{}'", k));
        if (histogram && k == "le")
            throw std::invalid_argument("metrics: label 'le' is reserved for histogram buckets");
        if (!out.empty())
            out += ',';
        out += k;
        out += "=\"";
        append_escaped(out, v, true);
        out += '"';
    }
    return out;
}

} // namespace

// --- histogram ---------------------------------------------------------------------------

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds))
    , counts_(bounds_.size() + 1, 0) {
    if (bounds_.empty())
        throw std::invalid_argument("metrics: a histogram needs at least one bucket");
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        if (!std::isfinite(bounds_[i]) || (i > 0 && !(bounds_[i] > bounds_[i - 1])))
            throw std::invalid_argument(
                "metrics: histogram bounds must be finite and strictly increasing");
    }
}

void histogram::observe(double v) noexcept {
    if (std::isnan(v))
        return; // would poison _sum for the rest of the run
    // Linear scan: bucket lists are short (about a dozen) and the low ones are the common case.
    std::size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i])
        ++i;
    ++counts_[i];
    ++count_;
    sum_ += v;
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
    if (!(start > 0) || !(factor > 1) || count == 0)
        throw std::invalid_argument("metrics: exponential_buckets needs start > 0, factor > 1");
    std::vector<double> out;
    out.reserve(count);
    for (double b = start; out.size() < count; b *= factor)
        out.push_back(b);
    return out;
}

std::vector<double> latency_buckets_seconds() {
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// --- state_set ---------------------------------------------------------------------------

void state_set::set(std::size_t i) noexcept {
    if (i >= gauges_.size())
        return;
    gauges_[current_]->set(0);
    gauges_[i]->set(1);
    current_ = i;
}

// --- registry ----------------------------------------------------------------------------

struct registry::family {
    struct series {
        std::string labels; // rendered `k="v",...` without braces
        std::unique_ptr<counter> c;
        std::unique_ptr<gauge> g;
        std::unique_ptr<histogram> h;
        std::function<std::uint64_t()> counter_view; // read at each render
        std::function<std::int64_t()> gauge_view;
    };
    std::string name;
    std::string help;
    int type = type_counter;
    std::vector<series> members;

    series& add(std::string labels) {
        for (const auto& m : members) {
            if (m.labels == labels)
                throw std::invalid_argument(
                    fmt::format("metrics: {}{{{}}} registered twice", name, labels));
        }
        members.push_back(series{std::move(labels), nullptr, nullptr, nullptr, {}, {}});
        return members.back();
    }
};

registry::registry() = default;
registry::~registry() = default;

registry::family& registry::family_for(std::string_view name, std::string_view help, int type) {
    if (!valid_name(name) || !name.starts_with(name_prefix) || name.size() == name_prefix.size())
        throw std::invalid_argument(
            fmt::format("metrics: invalid metric name '{}' (must be sqs2pg_[a-zA-Z0-9_]+)", name));
    for (auto& f : families_) {
        if (f->name == name) {
            if (f->type != type || f->help != help)
                throw std::invalid_argument(
                    fmt::format("metrics: {} registered again with another type or help", name));
            return *f;
        }
    }
    auto f = std::make_unique<family>();
    f->name = name;
    f->help = help;
    f->type = type;
    families_.push_back(std::move(f));
    return *families_.back();
}

counter& registry::add_counter(std::string_view name, std::string_view help, label_list labels) {
    auto& s = family_for(name, help, type_counter).add(render_labels(labels, false));
    s.c = std::make_unique<counter>();
    return *s.c;
}

gauge& registry::add_gauge(std::string_view name, std::string_view help, label_list labels) {
    auto& s = family_for(name, help, type_gauge).add(render_labels(labels, false));
    s.g = std::make_unique<gauge>();
    return *s.g;
}

void registry::add_counter_view(std::string_view name, std::string_view help,
                                std::function<std::uint64_t()> read, label_list labels) {
    auto& s = family_for(name, help, type_counter).add(render_labels(labels, false));
    s.counter_view = std::move(read);
}

void registry::add_gauge_view(std::string_view name, std::string_view help,
                              std::function<std::int64_t()> read, label_list labels) {
    auto& s = family_for(name, help, type_gauge).add(render_labels(labels, false));
    s.gauge_view = std::move(read);
}

void registry::add_state_set_view(std::string_view name, std::string_view help,
                                  std::string_view label,
                                  std::initializer_list<std::string_view> states,
                                  std::function<std::size_t()> read, label_list labels) {
    if (states.size() == 0)
        throw std::invalid_argument("metrics: a state set needs at least one state");
    auto shared = std::make_shared<std::function<std::size_t()>>(std::move(read));
    std::size_t i = 0;
    for (std::string_view state : states) {
        std::vector<std::pair<std::string_view, std::string_view>> all(labels.begin(),
                                                                       labels.end());
        all.emplace_back(label, state);
        auto& s = family_for(name, help, type_gauge).add(render_labels(all, false));
        s.gauge_view = [shared, i] { return (*shared)() == i ? 1 : 0; };
        ++i;
    }
}

histogram& registry::add_histogram(std::string_view name, std::string_view help,
                                   std::vector<double> upper_bounds, label_list labels) {
    auto h = std::make_unique<histogram>(std::move(upper_bounds));
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        for (auto& f : families_) {
            if (f->name == fmt::format("{}{}", name, suffix))
                throw std::invalid_argument(
                    fmt::format("metrics: {} clashes with {}", name, f->name));
        }
    }
    auto& s = family_for(name, help, type_histogram).add(render_labels(labels, true));
    s.h = std::move(h);
    return *s.h;
}

state_set& registry::add_state_set(std::string_view name, std::string_view help,
                                   std::string_view label,
                                   std::initializer_list<std::string_view> states,
                                   label_list labels) {
    if (states.size() == 0)
        throw std::invalid_argument("metrics: a state set needs at least one state");
    auto set = std::make_unique<state_set>();
    for (std::string_view state : states) {
        std::vector<std::pair<std::string_view, std::string_view>> all(labels.begin(),
                                                                       labels.end());
        all.emplace_back(label, state);
        auto& s = family_for(name, help, type_gauge).add(render_labels(all, false));
        s.g = std::make_unique<gauge>();
        set->gauges_.push_back(s.g.get());
    }
    set->gauges_.front()->set(1);
    state_sets_.push_back(std::move(set));
    return *state_sets_.back();
}

std::string registry::render() const {
    std::string out;
    render(out);
    return out;
}

void registry::render(std::string& out) const {
    auto it = std::back_inserter(out);
    for (const auto& f : families_) {
        out += "# HELP ";
        out += f->name;
        out += ' ';
        append_escaped(out, f->help, false);
        out += "\n# TYPE ";
        out += f->name;
        out += ' ';
        out += type_name(f->type);
        out += '\n';
        for (const auto& s : f->members) {
            const std::string_view braces_open = s.labels.empty() ? "" : "{";
            const std::string_view braces_close = s.labels.empty() ? "" : "}";
            if (s.c || s.counter_view) {
                fmt::format_to(it, "{}{}{}{} {}\n", f->name, braces_open, s.labels, braces_close,
                               s.c ? s.c->value() : s.counter_view());
            } else if (s.g || s.gauge_view) {
                fmt::format_to(it, "{}{}{}{} {}\n", f->name, braces_open, s.labels, braces_close,
                               s.g ? s.g->value() : s.gauge_view());
            } else if (s.h) {
                const auto bounds = s.h->upper_bounds();
                const auto counts = s.h->bucket_counts();
                const std::string_view sep = s.labels.empty() ? "" : ",";
                std::uint64_t cumulative = 0;
                for (std::size_t i = 0; i <= bounds.size(); ++i) {
                    cumulative += counts[i];
                    fmt::format_to(it, "{}_bucket{{{}{}le=\"", f->name, s.labels, sep);
                    append_double(out, i < bounds.size() ? bounds[i] : HUGE_VAL);
                    fmt::format_to(it, "\"}} {}\n", cumulative);
                }
                fmt::format_to(it, "{}_sum{}{}{} ", f->name, braces_open, s.labels, braces_close);
                append_double(out, s.h->sum());
                fmt::format_to(it, "\n{}_count{}{}{} {}\n", f->name, braces_open, s.labels,
                               braces_close, s.h->count());
            }
        }
    }
}

// --- build info --------------------------------------------------------------------------

void add_build_info(registry& reg, std::string_view version) {
    reg.add_gauge("sqs2pg_build_info", "Always 1; the version label says which build runs.",
                  {{"version", version.empty() ? std::string_view("unknown") : version}})
        .set(1);
}

} // namespace sqs2pg::ops
