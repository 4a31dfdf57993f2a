"""Where inputs come from: URL fetching behind the network guard (SPEC section 7)."""
