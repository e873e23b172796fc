dist_noinst_DATA += conf/connector-milter.conf
