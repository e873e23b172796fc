#include "policy/connector.hpp"
