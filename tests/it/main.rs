//! One integration-test binary: each module holds the tests for one area.
