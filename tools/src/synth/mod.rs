//! Seeded synthetic market generator (being written).
