#include "policy/ip_address.hpp"
