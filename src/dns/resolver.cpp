#include "dns/resolver.hpp"
