#include "policy/session_rights.hpp"
