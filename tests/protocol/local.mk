# protocol tests: the built daemon over the real milter protocol
