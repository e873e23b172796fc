// The decision line's two formats (issue 18, "Logs"; src/log/record.hpp):
// text as documented in connector-milter(8), JSON that parses whatever bytes
// a client put in an address or a reply.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "log/record.hpp"

namespace {

using daemon_log::Format;
using daemon_log::json_string;
using daemon_log::Record;
using daemon_log::render;
using daemon_log::TextStyle;

Record refusal() {
    Record r;
    r.queue_id = "4XyZ12";
    r.fields = {{"stage", "RCPT", TextStyle::Bare},
                {"connector", "Default Frontend", TextStyle::Quoted},
                {"client", "198.51.100.7", TextStyle::Bracketed},
                {"rights", "AnonymousUsers", TextStyle::Bare},
                {"action", "reject", TextStyle::Bare},
                {"reply", "550 5.7.54 SMTP; Unable to relay", TextStyle::Quoted}};
    return r;
}

TEST(LogRecord, TextFormatIsQueueIdColonThenKeyValuePairsStyledPerField) {
    EXPECT_EQ(render(refusal(), Format::Text),
              "4XyZ12: stage=RCPT connector=\"Default Frontend\" client=[198.51.100.7] rights=AnonymousUsers "
              "action=reject reply=\"550 5.7.54 SMTP; Unable to relay\"");
}

TEST(LogRecord, JsonFormatIsOneObjectWithTheQueueIdFirstAndTheFieldsInOrder) {
    EXPECT_EQ(render(refusal(), Format::Json),
              "{\"queue_id\":\"4XyZ12\",\"stage\":\"RCPT\",\"connector\":\"Default Frontend\","
              "\"client\":\"198.51.100.7\",\"rights\":\"AnonymousUsers\",\"action\":\"reject\","
              "\"reply\":\"550 5.7.54 SMTP; Unable to relay\"}");
}

TEST(LogRecord, TextQuotingEscapesQuoteAndBackslashAndShowsControlCharactersAsQuestionMarks) {
    Record r;
    r.queue_id = "NOQUEUE";
    r.fields = {{"reason", "say \"hi\\\"\r\nInjected: yes", TextStyle::Quoted}};
    EXPECT_EQ(render(r, Format::Text), "NOQUEUE: reason=\"say \\\"hi\\\\\\\"??Injected: yes\"");
}

TEST(LogRecord, JsonStringEscapesQuotesBackslashesAndControlCharacters) {
    EXPECT_EQ(json_string("a\"b\\c\r\n\t\x01\x7f"), "\"a\\\"b\\\\c\\r\\n\\t\\u0001\\u007f\"");
}

TEST(LogRecord, JsonStringKeepsValidUtf8AndReplacesOtherBytesWithUFFFD) {
    EXPECT_EQ(json_string("J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x93\xa7"), "\"J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x93\xa7\"");
    // A Latin-1 byte, a lone continuation byte, an overlong '/', a
    // surrogate, a sequence cut short at the end.
    EXPECT_EQ(json_string("J\xfcrgen"), "\"J\\ufffdrgen\"");
    EXPECT_EQ(json_string("\x80"), "\"\\ufffd\"");
    EXPECT_EQ(json_string("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
    EXPECT_EQ(json_string("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
    EXPECT_EQ(json_string("ok\xe2\x82"), "\"ok\\ufffd\\ufffd\"");
}

// [milter] log_format in the configuration.
TEST(LogFormatSetting, DefaultIsTextJsonIsAcceptedAndAnythingElseIsAnErrorAtItsLine) {
    const std::string connector =
        "[[connector]]\nname = \"A\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"::/0\"]\n";
    const auto plain = config::load_string(connector, "t.conf");
    ASSERT_NE(plain.config, nullptr);
    EXPECT_EQ(plain.config->milter.log_format, Format::Text);
    const auto json = config::load_string("[milter]\nlog_format = \"json\"\n" + connector, "t.conf");
    ASSERT_NE(json.config, nullptr);
    EXPECT_EQ(json.config->milter.log_format, Format::Json);
    const auto bad = config::load_string("[milter]\nlog_format = \"xml\"\n" + connector, "t.conf");
    EXPECT_EQ(bad.config, nullptr);
    ASSERT_EQ(bad.errors.size(), 1u);
    EXPECT_EQ(bad.errors[0].line, 2);
    EXPECT_NE(bad.errors[0].message.find("log_format"), std::string::npos) << bad.errors[0].message;
}

}  // namespace
