noinst_LIBRARIES += libauth.a
# Authentication-Results (RFC 8601) and SPF (RFC 7208, libspf2)
libauth_a_SOURCES = \
	src/auth/authres.cpp src/auth/authres.hpp \
	src/auth/authres_claim.cpp src/auth/authres_claim.hpp \
	src/auth/spf.cpp src/auth/spf.hpp \
	src/auth/options.hpp
# DKIM (libopendkim) and DMARC (RFC 9989; libpsl for discovery = "psl")
libauth_a_SOURCES += \
	src/auth/dkim.cpp src/auth/dkim.hpp \
	src/auth/dkim_verify.cpp src/auth/dkim_verify.hpp \
	src/auth/dkim_key_cache.cpp src/auth/dkim_key_cache.hpp \
	src/auth/dmarc.cpp src/auth/dmarc.hpp \
	src/auth/dmarc_record.cpp src/auth/dmarc_record.hpp \
	src/auth/org_domain.cpp src/auth/org_domain.hpp
# DNS block lists (RFC 5782), asked at connect and read at RCPT
libauth_a_SOURCES += src/auth/dnsbl.cpp src/auth/dnsbl.hpp
# DKIM signing: the signing/key table lookups and the signer (our
# canonicalization and OpenSSL for rsa-sha256 and ed25519-sha256)
libauth_a_SOURCES += \
	src/auth/crlf.hpp \
	src/auth/dkim_sign_options.hpp src/auth/dkim_sign_table.cpp \
	src/auth/dkim_signer.cpp src/auth/dkim_signer.hpp \
	src/auth/dkim_signature_maker.cpp src/auth/dkim_signature_maker.hpp \
	src/auth/dkim_own_keys.cpp src/auth/dkim_own_keys.hpp
# ARC verification (RFC 8617) on RFC 6376 canonicalization and OpenSSL
libauth_a_SOURCES += \
	src/auth/arc.cpp src/auth/arc.hpp \
	src/auth/canonicalization.cpp src/auth/canonicalization.hpp \
	src/auth/dkim_key_record.cpp src/auth/dkim_key_record.hpp \
	src/auth/tag_list.cpp src/auth/tag_list.hpp
