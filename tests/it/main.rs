//! Integration tests: each module drives the real `tonearm` binary as a user or client would.
