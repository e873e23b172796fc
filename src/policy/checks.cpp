#include "policy/checks.hpp"
