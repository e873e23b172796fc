#include "policy/accepted_domains.hpp"
