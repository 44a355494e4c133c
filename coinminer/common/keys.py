"""The redis keys: the wire contract between worker and webui.

`hashes` and `wallet` are the original dockercoins keys (either side's worker
and webui can be mixed); `coinminer:workers` is ours, and an original webui
simply ignores it.
"""

HASHES = "hashes"  # string counter, INCRBY'd by each worker about once a second
WALLET = "wallet"  # hash: hex digest of a coin -> the random bytes that made it
WORKERS = "coinminer:workers"  # hash: worker name -> unix time of its last flush
WORKER_FRESH_SECONDS = 10.0  # a worker not heard from for this long is not counted
WORKER_FORGET_SECONDS = 3600.0  # then dropped, so pod churn does not grow the hash
