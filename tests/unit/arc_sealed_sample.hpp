// An ARC-sealed message and its sealer's key, shared by the ARC verifier's
// tests (arc_test) and the session's DNS-ahead tests (session_test).
#pragma once
#include <string>

namespace testing_arc {

// arc_sign(..., b"dummy", b"example.org", <arc-draft-sign-tests.yml key>,
// b"lists.example.org", include_headers=[from, to, subject, date,
// message-id], timestamp=1500000000), LF line ends here.
const std::string kChain = R"EML(ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.org; s=dummy;
 t=1500000000;
 b=QFQZbYA5zeqnb4nfM/RZhAMGsAlWDdEyID9qYUjELYw8zUw8gopyXVFew7VGJ5dErd8VG
 4ISylGd7inVDqYsvkmi+90n/d28vYWYe9eZr1XKEdxTwlPrKEcfiL3DKc9CX12vA0b5d3cb
 9EG5udVXRJ8ctW/bY5bKVFhx7DzF8hY=
ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed;
 d=example.org; s=dummy; t=1500000000; h=from : to : subject : date :
 message-id; bh=KWSe46TZKCcDbH4klJPo+tjk5LWJnVRlP5pvjXFZYLQ=;
 b=2vRyJVmhRJ27twZ6HhF6mv0F4K2fM4joCilwnFm6zA8mXGK9ABeUmYcYB/snpyeaUvovp
 U4y5GqQqDdGzspEpnG0qLCgefGikI1iO47WJw86ChtVa7Peq+lONYpmfAZjeKDKybDs7d4x
 zFs4ogIOj4BdlPOz0uKHLSCtigzQlk0=
ARC-Authentication-Results: i=1; lists.example.org; arc=none;
  spf=pass smtp.mfrom=jqd@d1.example;
  dkim=pass header.i=@d1.example;
  dmarc=pass header.from=d1.example
From: John Q Doe <jqd@d1.example>
To: arc@dmarc.example
Subject: Example 1
Date: Thu, 14 Jan 2015 15:00:01 -0800
Message-ID: <54B84785.1060301@d1.example>

Hey gang,
This is a test message.
--J.
)EML";

const std::string kKey =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
    "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+"
    "2kryOTIKT+l/K4w3QIDAQAB";

}  // namespace testing_arc
