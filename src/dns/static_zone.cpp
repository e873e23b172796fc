#include "dns/static_zone.hpp"
