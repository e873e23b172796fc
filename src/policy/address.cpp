#include "policy/address.hpp"
