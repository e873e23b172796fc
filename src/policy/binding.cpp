#include "policy/binding.hpp"
