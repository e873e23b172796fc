// `connector-milter report`: builds the aggregate reports of a period from
// the recorded evaluations and mails them (or writes them to a folder).
#pragma once

namespace report {

int run_report(int argc, char** argv);

}  // namespace report
