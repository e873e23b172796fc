#include "policy/sender_login_map.hpp"
