# end-to-end tests with real Postfix and sendmail on loopback
