# unit tests of src/auth (GoogleTest)
