"""Security primitives: password hashing, sealing secrets, network policy and rate limits."""
