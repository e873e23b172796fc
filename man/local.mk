dist_man_MANS += man/connector-milter.8 man/connector-milter.conf.5
