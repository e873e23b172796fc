#include "policy/replies.hpp"
