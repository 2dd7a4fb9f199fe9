//! Shared harness for the black-box tests.
