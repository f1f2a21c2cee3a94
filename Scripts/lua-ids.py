#!/usr/bin/env python3
"""Writes the wrk inputs for a model folder (Scripts/wrk-serve.sh, Scripts/scale-out.sh,
Scripts/soak.sh): its user and item ids as Lua tables `users` and `items` (feedback on an
unknown item is a 404) and, with --scripts, the two request mixes every load test uses:

    recommend.lua  POST /v1/recommend for a random known user (k = 10)
    mixed.lua      80% recommend, 20% POST /v1/feedback (rating 1-5) for random known users and items

    Scripts/lua-ids.py MODEL_DIR OUT.lua [--scripts OUT_DIR] [--mixed-seed N|time]

`--mixed-seed time` seeds the mix from the clock (separate wrk processes then send different
sequences); the default seed is 2.
"""
import argparse
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("out")
parser.add_argument("--scripts", help="also write recommend.lua and mixed.lua into this folder")
parser.add_argument("--mixed-seed", default="2")
args = parser.parse_args()

manifest = json.load(open(os.path.join(args.model, "manifest.json")))
with open(args.out, "w") as f:
    for name, ids in (("users", manifest["user_ids"]), ("items", manifest["item_ids"])):
        f.write(name + " = {" + ",".join(json.dumps(i) for i in ids) + "}\n")

if args.scripts:
    ids = os.path.abspath(args.out)
    seed = "os.time() + math.floor(os.clock() * 1000000)" if args.mixed_seed == "time" else str(int(args.mixed_seed))
    header = f'dofile("{ids}")\nmath.randomseed(%s)\nwrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    recommend = """request = function()
  return wrk.format(nil, "/v1/recommend", nil, string.format('{"user": "%s", "k": 10}', users[math.random(#users)]))
end
"""
    mixed = """request = function()
  local user = users[math.random(#users)]
  if math.random() < 0.8 then
    return wrk.format(nil, "/v1/recommend", nil, string.format('{"user": "%s", "k": 10}', user))
  end
  return wrk.format(nil, "/v1/feedback", nil,
    string.format('{"user": "%s", "item": "%s", "rating": %d}', user, items[math.random(#items)], math.random(1, 5)))
end
"""
    with open(os.path.join(args.scripts, "recommend.lua"), "w") as f:
        f.write("-- POST /v1/recommend for a random known user.\n" + header % "1" + recommend)
    with open(os.path.join(args.scripts, "mixed.lua"), "w") as f:
        f.write("-- 80% POST /v1/recommend, 20% POST /v1/feedback (rating 1-5) for random known users and items.\n"
                + header % seed + mixed)
