# One home for ASCII case folding and other small helpers every module uses
# (header-only).
noinst_HEADERS += src/util/ascii.hpp src/util/plural.hpp src/util/waiting.hpp
