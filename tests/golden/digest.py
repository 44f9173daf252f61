#!/usr/bin/python3
"""Print an exact, compact text digest of an llmsim results file.

usage: digest.py RESULTS.h5

Used by tests/cli/test_golden.sh and tests/golden/regen.sh (see there).
The digest holds everything in /summary, every float exactly (Python's
repr of a double is the shortest text that reads back to the same bits;
a row whose values repeat an earlier row's names that row instead), and
SHA-256 checksums of /requests: the whole table, in a fixed little-endian
packed layout, and the first 12 hex digits of each column's, so that a
mismatch names the column.  It leaves out what changes from run to run or
machine to machine without the answer changing: the created_utc and
llmsim_version attributes, paths, the scenario text, the column
descriptions and units.
"""
import hashlib
import sys

import h5py
import numpy as np


def num(v):
    """Exact text of one value: ints as ints, doubles round-trip exact."""
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode("utf-8", "replace")
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, np.ndarray):
        return "[" + ",".join(num(x) for x in v.tolist()) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(num(x) for x in v) + "]"
    if isinstance(v, str):
        return v
    return repr(v)


def column_bytes(col):
    """The column's values as little-endian bytes of its own numeric type."""
    a = np.ascontiguousarray(col)
    if a.dtype.kind in "iuf":
        a = a.astype(a.dtype.newbyteorder("<"))
    return a.tobytes()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: digest.py RESULTS.h5")
    out = []
    with h5py.File(sys.argv[1], "r") as f:
        for k in sorted(f.attrs):
            if k in ("created_utc", "llmsim_version"):
                continue
            out.append("attr %s %s" % (k, num(f.attrs[k])))
        out.append("datasets %s" % " ".join(sorted(f.keys())))

        if "requests" not in f:
            out.append("requests (none: output.requests is false)")
        else:
            req = f["requests"][...]
            names = req.dtype.names
            out.append("requests.rows %d" % len(req))
            for k in ("class_names", "deployment_names"):
                if k in f["requests"].attrs:
                    out.append("requests.%s %s" % (k, num(f["requests"].attrs[k])))
            whole = hashlib.sha256()
            cols = []
            for n in names:
                b = column_bytes(req[n])
                whole.update(n.encode() + b"\0" + b)
                cols.append("  %s %s %s" % (n, req.dtype[n].str.lstrip("<>=|"),
                                            hashlib.sha256(b).hexdigest()[:12]))
            out.append("requests.sha256 %s" % whole.hexdigest())
            out.append("requests.columns (name, type, sha256 of its values)")
            out.extend(cols)

        # /summary: one block per scope; every value exact.  To stay small,
        # a row without samples is "(all nan)" and a row whose values equal
        # an earlier row's (a single deployment repeats "all") names it:
        # "= SCOPE METRIC", or "=" alone for the same metric of scope "all".
        summ = f["summary"][...]
        out.append("summary.rows %d" % len(summ))
        out.append("summary.columns %s" % " ".join(summ.dtype.names))
        seen = {}
        scope = None
        for r in summ.tolist():
            vals = [num(v) for v in r]
            if vals[0] != scope:
                scope = vals[0]
                out.append("scope %s" % scope)
            key = " ".join(vals[2:])
            if r[2] == 0 and all(isinstance(v, float) and v != v for v in r[3:]):
                out.append("  %s 0 (all nan)" % vals[1])
            elif key in seen:
                # "=" alone: the same metric of scope "all".
                ref = seen[key]
                same = ref == ("all", vals[1])
                out.append("  %s =%s" % (vals[1], "" if same else " %s %s" % ref))
            else:
                seen[key] = (vals[0], vals[1])
                out.append("  %s %s" % (vals[1], key))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
