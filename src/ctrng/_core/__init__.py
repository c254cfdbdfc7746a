"""The layer under every public face: the bridge to the C core (the only
user of the compiled extension), the table of distribution kinds, argument
checks, the thread pool, and tensor shards."""
