//! A local Okta org on loopback, for tests, benchmarks and the demo.
