#!/usr/bin/env python3
"""Writes a model folder's user and item ids as Lua tables `users` and `items` for the wrk
scripts (Scripts/wrk-serve.sh, Scripts/soak.sh): feedback on an unknown item is a 404.

    Scripts/lua-ids.py MODEL_DIR OUT.lua
"""
import json
import sys

model, out = sys.argv[1], sys.argv[2]
manifest = json.load(open(f"{model}/manifest.json"))
with open(out, "w") as f:
    for name, ids in (("users", manifest["user_ids"]), ("items", manifest["item_ids"])):
        f.write(name + " = {" + ",".join(json.dumps(i) for i in ids) + "}\n")
