#include "policy/limits.hpp"
