// Boost.JSON compiled into the fuzzer itself, so the parser is instrumented too.
#include <boost/json/src.hpp>
