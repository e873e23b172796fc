# unit tests of src/config (GoogleTest)
