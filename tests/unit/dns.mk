# unit tests of src/dns (GoogleTest)
