// Identifier parsing and quoting for the configured table name.
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/names.hpp>

#include <vector>

namespace sqs2pg::pg {
namespace {

constexpr std::size_t max_identifier_bytes = 63; // NAMEDATALEN - 1

bool ident_start(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool ident_char(unsigned char c) {
    return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

} // namespace

std::string quote_ident(std::string_view ident) {
    std::string out;
    out.reserve(ident.size() + 2);
    out += '"';
    for (char c : ident) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::string qualified_name::quoted() const {
    return schema ? quote_ident(*schema) + "." + quote_ident(name) : quote_ident(name);
}

qualified_name qualified_name::sibling(std::string_view table) const {
    return {schema, std::string(table)};
}

boost::system::result<qualified_name> parse_qualified_name(std::string_view text) {
    std::vector<std::string> parts;
    std::size_t i = 0;
    const auto fail = [] {
        return boost::system::result<qualified_name>(errc::invalid_table_name);
    };
    while (true) {
        std::string part;
        if (i < text.size() && text[i] == '"') {
            ++i;
            bool closed = false;
            while (i < text.size()) {
                if (text[i] == '"') {
                    if (i + 1 < text.size() && text[i + 1] == '"') {
                        part += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    closed = true;
                    break;
                }
                if (text[i] == '\0')
                    return fail();
                part += text[i++];
            }
            if (!closed || part.empty())
                return fail();
        } else {
            if (i >= text.size() || !ident_start(static_cast<unsigned char>(text[i])))
                return fail();
            while (i < text.size() && ident_char(static_cast<unsigned char>(text[i]))) {
                part += base::ascii_lower(text[i++]);
            }
        }
        if (part.size() > max_identifier_bytes)
            return fail();
        parts.push_back(std::move(part));
        if (i == text.size())
            break;
        if (text[i] != '.')
            return fail();
        ++i;
    }
    if (parts.size() == 1)
        return qualified_name{std::nullopt, std::move(parts[0])};
    if (parts.size() == 2)
        return qualified_name{std::move(parts[0]), std::move(parts[1])};
    return fail();
}

table_names::table_names(qualified_name target_table)
    : target(std::move(target_table))
    , ledger(target.sibling("sqs2pg_ledger"))
    , rejects(target.sibling("sqs2pg_rejects")) {}

} // namespace sqs2pg::pg
