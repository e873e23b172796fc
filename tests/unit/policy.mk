# unit tests of src/policy (GoogleTest)
