// Test helpers: data paths, required environment, unique names.
#include "test_env.hpp"

#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/encoding.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#ifndef SQS2PG_TEST_DATA_DIR
#error "SQS2PG_TEST_DATA_DIR must be defined by the build"
#endif

namespace sqs2pg::test {

std::string data_path(std::string_view name) {
    const char* dir = std::getenv("SQS2PG_TEST_DATA");
    std::string base = dir != nullptr && *dir != '\0' ? dir : SQS2PG_TEST_DATA_DIR;
    return base + "/" + std::string(name);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string require_env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        throw std::runtime_error(std::string(name) +
                                 " is not set: run the tests through tests/run, which starts "
                                 "PostgreSQL and moto and exports their addresses");
    return v;
}

std::string unique_name(std::string_view prefix) {
    static std::atomic<unsigned> counter{0};
    return std::string(prefix) + std::to_string(::getpid()) + "_" + std::to_string(++counter) +
           "_" + base::to_hex(base::random_bytes(3));
}

} // namespace sqs2pg::test
