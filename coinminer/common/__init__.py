"""Code shared by the coin-miner services; each image copies this package once."""
