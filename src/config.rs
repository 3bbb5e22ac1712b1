//! The one `Config`: connection settings validated at start-up.
