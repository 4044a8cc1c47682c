//! Charts (placeholder while building).
