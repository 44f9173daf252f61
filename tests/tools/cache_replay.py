#!/usr/bin/python3
"""Independent replay of the "ideal" prefix cache over a Mooncake trace.

This is the reference the C engine's `prompt_cache: {semantics: ideal}` (and
the self-hosted prefix cache fed by trace hash_ids) is checked against.  It is
deliberately simple, stdlib only, and shares no code with the C side.

Input: a Mooncake trace (JSON lines {"timestamp": ms, "input_length",
"output_length", "hash_ids": [...]}), len(hash_ids) == ceil(input_length / 512).

The rules (the contract):

 1. Order.  Requests are replayed in arrival order: rows sorted by timestamp,
    stable (file order among equal timestamps).  Times are seconds relative to
    the first row, t = (timestamp_ms - first_ms) / 1000.0 in doubles, exactly
    as the C reader computes them.
 2. Blocks.  A request's prompt is the chain of its blocks, one per hash id,
    512 tokens each (the last one may be partial).  Block i's identity is the
    whole prefix hash_ids[0..i]: equal ids at the same position after equal
    prefixes are the same block; an equal id after a different prefix is a
    different block.
 3. Lookup.  The hit is the longest run of cached blocks from block 0,
    stopping at the first missing (or expired) block.  Cached tokens =
    min(hit_blocks * 512, input_length), i.e. a partial last block counts only
    its real tokens.  A request "hits" when it has >= 1 cached block.
 4. Insert.  After the lookup, all blocks of the request are inserted or
    refreshed with last use = its arrival time: blocks are usable from arrival
    by any later request (no write delay, no minimum length, no premium).
    Within one request the blocks are touched from the last to the first, so
    block 0 ends up the most recently used; among blocks with the same last
    use, the deepest ones are therefore evicted first (as vLLM's evictor
    does), which keeps shared roots alive.
 5. Capacity (capacity_tokens > 0).  Every cached block costs 512 tokens (a
    partial block costs a full one), so at most floor(capacity_tokens / 512)
    blocks are held.  After a request's insertions, least recently used blocks
    are evicted until the cache fits.  Evicting a block does not evict its
    descendants; a descendant whose ancestor is missing simply cannot hit
    (rule 3), and can hit again once the ancestor is re-inserted.
 6. TTL (ttl_s > 0).  At a lookup at time t, a block whose last use u has
    t - u > ttl_s is expired and treated as missing (and dropped); a block
    used exactly ttl_s ago still hits.  Last use slides on every hit and every
    insert (both are the touch of rule 4).  Expired blocks never hold capacity
    that a live block would need: they are the least recently used, so LRU
    would evict them first anyway.
 7. Output.  token hit ratio = sum(cached tokens) / sum(input_length);
    request hit rate = share of requests with >= 1 cached block.

Usage:
    cache_replay.py [--trace PATH] [--capacity-tokens N] [--ttl-s S] [--json]
    cache_replay.py --reference [--trace PATH]
        (the three reference figures: unlimited, capacity 3,000,000 tokens,
         TTL 300 s)
"""

import argparse
import collections
import json
import math
import os
import sys

BLOCK_TOKENS = 512
KEYS = {"timestamp", "input_length", "output_length", "hash_ids"}
DEFAULT_TRACE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scenarios",
                             "traces", "mooncake-fast25", "conversation_trace.jsonl")


def read_trace(path):
    """Returns [(t_s, input_length, hash_ids)] sorted by time (stable)."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            if not isinstance(r, dict) or set(r) != KEYS:
                sys.exit("%s:%d: expected exactly the keys %s" % (path, lineno, sorted(KEYS)))
            n_in, ids = r["input_length"], r["hash_ids"]
            if len(ids) != (n_in + BLOCK_TOKENS - 1) // BLOCK_TOKENS:
                sys.exit("%s:%d: %d hash_ids for input_length %d" % (path, lineno, len(ids), n_in))
            rows.append((r["timestamp"], n_in, ids))
    if not rows:
        sys.exit("%s: no requests" % path)
    rows.sort(key=lambda row: row[0])  # list.sort is stable
    t0 = float(rows[0][0])
    return [((float(ms) - t0) / 1000.0, n_in, ids) for ms, n_in, ids in rows]


def replay(rows, capacity_tokens=0, ttl_s=0.0):
    """Replays the ideal prefix cache; returns a dict of figures."""
    max_blocks = capacity_tokens // BLOCK_TOKENS if capacity_tokens > 0 else None
    node_of = {}                         # (parent node, hash id) -> node: prefix identity
    cache = collections.OrderedDict()    # node -> last use (s), least recently used first
    sum_in = sum_cached = hit_requests = evictions = expirations = 0
    for t, n_in, ids in rows:
        # Drop expired blocks (they are a prefix of the LRU order, since last
        # uses never decrease along it).
        if ttl_s > 0:
            while cache:
                node, last = next(iter(cache.items()))
                if t - last > ttl_s:
                    cache.popitem(last=False)
                    expirations += 1
                else:
                    break
        # Resolve the chain of block identities.
        chain = []
        parent = -1
        for h in ids:
            key = (parent, h)
            node = node_of.get(key)
            if node is None:
                node = len(node_of)
                node_of[key] = node
            chain.append(node)
            parent = node
        # Lookup: longest cached run from block 0.
        hit = 0
        for node in chain:
            if node in cache:
                hit += 1
            else:
                break
        cached = min(hit * BLOCK_TOKENS, n_in)
        sum_in += n_in
        sum_cached += cached
        hit_requests += hit > 0
        # Insert / refresh every block, last to first (block 0 most recent).
        for node in reversed(chain):
            cache[node] = t
            cache.move_to_end(node)
        # Evict least recently used blocks beyond capacity.
        if max_blocks is not None:
            while len(cache) > max_blocks:
                cache.popitem(last=False)
                evictions += 1
    n = len(rows)
    return {
        "requests": n,
        "input_tokens": sum_in,
        "cached_tokens": sum_cached,
        "hit_requests": hit_requests,
        "token_hit_ratio": sum_cached / sum_in if sum_in else 0.0,
        "request_hit_rate": hit_requests / n if n else 0.0,
        "distinct_blocks": len(node_of),
        "evictions": evictions,
        "expirations": expirations,
    }


def describe(capacity_tokens, ttl_s):
    cap = "unlimited" if capacity_tokens <= 0 else "%d tokens" % capacity_tokens
    ttl = "none" if ttl_s <= 0 else "%g s" % ttl_s
    return "capacity %s, TTL %s" % (cap, ttl)


def print_figures(label, fig):
    print("%-40s token hit ratio %.6f  request hit rate %.6f  (%d / %d tokens, %d / %d requests)"
          % (label, fig["token_hit_ratio"], fig["request_hit_rate"], fig["cached_tokens"],
             fig["input_tokens"], fig["hit_requests"], fig["requests"]))


def main():
    ap = argparse.ArgumentParser(description="Replay the ideal prefix cache over a Mooncake trace.")
    ap.add_argument("--trace", default=DEFAULT_TRACE, help="Mooncake JSON-lines trace (default: conversation)")
    ap.add_argument("--capacity-tokens", type=int, default=0, help="LRU capacity in tokens (0 = unlimited)")
    ap.add_argument("--ttl-s", type=float, default=0.0, help="sliding TTL in seconds (0 = none)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ap.add_argument("--reference", action="store_true",
                    help="print the three reference figures (unlimited, 3,000,000 tokens, TTL 300 s)")
    a = ap.parse_args()
    if a.capacity_tokens < 0 or a.ttl_s < 0 or not math.isfinite(a.ttl_s):
        ap.error("--capacity-tokens and --ttl-s must be >= 0")
    rows = read_trace(a.trace)
    if a.reference:
        for cap, ttl in ((0, 0.0), (3000000, 0.0), (0, 300.0)):
            print_figures(describe(cap, ttl), replay(rows, cap, ttl))
        return
    fig = replay(rows, a.capacity_tokens, a.ttl_s)
    if a.json:
        fig.update(trace=a.trace, capacity_tokens=a.capacity_tokens, ttl_s=a.ttl_s)
        print(json.dumps(fig, sort_keys=True))
    else:
        print("trace %s" % a.trace)
        print_figures(describe(a.capacity_tokens, a.ttl_s), fig)
        print("token_hit_ratio %.6f" % fig["token_hit_ratio"])
        print("request_hit_rate %.6f" % fig["request_hit_rate"])


if __name__ == "__main__":
    main()
