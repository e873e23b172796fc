#include "policy/connector_map.hpp"
