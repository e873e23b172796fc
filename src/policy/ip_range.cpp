#include "policy/ip_range.hpp"
