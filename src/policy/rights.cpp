#include "policy/rights.hpp"
