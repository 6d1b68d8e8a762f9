"""botdown.py -- the Redis-down bot scenario of the chaos suite: every pod
runs the Telegram bot against fake_telegram.py; every Redis master is
stopped; a user's /help and /start_agent sent in a private chat are still
answered (the bot's poller holds its role in PostgreSQL), the start
recorded (is_trading) with the answer that the agent starts when the lock
service returns; Redis comes back and the agent runs again.

Checks, with bounds from the settings: every runner stops within its lock
validity (TTL) once the masters are gone (no agent runs without its lock);
each answer arrives within the bot's role TTL (the lock TTL) + 1 s; the
started agent runs within the reconnect backoff (1 s) + one pod-lease
renewal interval (with pod leases) + 2 reconciles + 1 s after the masters
are back, the others within TTL + reconcile + 1 s (as after s5's quorum
loss).

How: prepare() starts the fake Bot API and gives the pods its URL, the
token and the allowed user before the topology starts them; the scenario
talks to the bot only through fake updates and reads its answers from the
fake's record of sendMessage.

Never: use the real Telegram (TELEGRAM_API_BASE always points at the fake),
or print the bot token.
"""
import os
import time

from fake_telegram import FakeTelegram
from topo import http, http_ok, wait_for

BOT_USER = 77
BOT_AGENT = "bot-agent"
STARTS_LATER = "will start when the lock service returns"


def prepare(topo):
    """Starts the fake Bot API; the pods started afterwards use it."""
    token = f"{400000 + int.from_bytes(os.urandom(2), 'big')}:{os.urandom(16).hex()}"
    tg = FakeTelegram(token)
    topo.extra_env.update({"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_BASE": tg.url,
                           "TELEGRAM_ALLOWED_USERS": str(BOT_USER)})
    return tg


def create_agent(c):
    port = c.topo.live_pods()[0].port
    http_ok("POST", port, "/api/users", {"id": BOT_USER, "name": "bot user"})
    ex = http_ok("POST", port, f"/api/users/{BOT_USER}/exchanges",
              {"exchange": "binance", "api_key": "k", "api_secret": "s", "testnet": True})
    http_ok("POST", port, f"/api/users/{BOT_USER}/pairs", {"exchange_id": ex["id"], "symbol": "ETH/USDT"})
    http_ok("POST", port, "/api/agents", {"user_id": BOT_USER, "strategy": "noop", "name": BOT_AGENT,
                                 "id": BOT_AGENT})
    http_ok("POST", port, f"/api/agents/{BOT_AGENT}/assign", {"symbol": "ETH/USDT", "balance": 50})


def s11_redis_down_bot(c):
    tg, topo = c.tg, c.topo
    fig = c.figures.setdefault("bot", {"runs": []})
    if not getattr(c, "bot_agent", False):
        create_agent(c)
        c.bot_agent = True
    else:  # the user stops it again: the next repetition starts it anew
        code, b, _ = http("POST", topo.live_pods()[0].port, f"/api/agents/stop/{BOT_AGENT}")
        if code != 200:
            return c.chk.violation(c.obs.now(), f"bot: stop of {BOT_AGENT}: HTTP {code} {b}")
        c.converge()
    ttl, rec, slack = c.ttl, c.rec, c.slack
    reply_bound = ttl + 1 + slack
    # a poller is polling (the role is taken within a claim interval)
    t = time.monotonic()
    if not wait_for(lambda: tg.polled_since(t), ttl + 2):
        c.chk.violation(c.obs.now(), "bot: no pod polls the fake Bot API")
    live = [p for p in topo.live_pods() if not p.stopped]
    owned = {p.name: list(c.obs.runners_of(p)) for p in live}
    t_down = c.obs.now()
    for i in range(topo.nredis):
        topo.kill_redis(i)
    c.fault(f"kill every Redis master ({topo.nredis}); "
            f"{sum(len(v) for v in owned.values())} runners")
    run = {}
    # no agent runs without its lock: every runner stops within validity
    stop_bound = ttl + slack
    wait_for(lambda: not any(c.obs.runners_of(p) for p in live), stop_bound + 2, 0.05)
    for pod, a, ls in c.obs.seen_after(owned, t_down, stop_bound):
        c.chk.violation(ls, f"bot: {pod} still runs {a} {ls - t_down:.2f}s after "
                            f"every Redis master went (bound {stop_bound:.2f}s)")
    last = max((c.obs.last_seen(p, a, since=t_down) or t_down
                for p, ags in owned.items() for a in ags), default=t_down)
    run["runners_stopped_ms"] = round((last - t_down) * 1000)

    # the bot answers while Redis is down
    for text, needle, key in (("/help", "/start_agent", "help_reply_ms"),
                              (f"/start_agent {BOT_AGENT}", f"Agent {BOT_AGENT}",
                               "start_reply_ms")):
        mark = tg.mark()
        t_say = time.monotonic()
        tg.say(BOT_USER, text)
        c.obs.event(f"FAULT bot user says {text}")
        got = tg.wait_sent(BOT_USER, needle, mark, reply_bound + 5)
        dt = None if got is None else got[0] - t_say
        run[key] = None if dt is None else round(dt * 1000)
        c.chk.bound(f"bot: answer to {text} with Redis down", dt, reply_bound, c.obs.now())
        if got:
            c.log(f"   t={c.obs.now():7.2f}s bot answered {text} in {dt * 1000:.0f} ms: "
                  f"{got[1].splitlines()[0][:110]}")
        if got and key == "start_reply_ms" and STARTS_LATER not in got[1]:
            c.chk.violation(c.obs.now(), f"bot: the start answer does not say the agent "
                                         f"{STARTS_LATER}: {got[1][:200]}")
    wish = topo.psql(f"SELECT is_trading FROM agent_configs WHERE id = '{BOT_AGENT}'")
    if wish != [["t"]]:
        c.chk.violation(c.obs.now(), f"bot: /start_agent did not record the wish "
                                     f"(is_trading {wish})")
    seen = c.obs.first_seen(BOT_AGENT, t_down)
    if seen:
        c.chk.violation(seen[0], f"bot: {BOT_AGENT} ran on {seen[1]} while every Redis "
                                 "master was down")

    # Redis back: the started agent runs once a pod has dialled Redis again
    # (its reconnect backoff is capped at 1 s), renewed its pod lease when
    # pod leases are on (every third of their TTL), and run a pass with room
    # for it: every agent lost its lock with Redis, so fair sharing may
    # take a second pass to place them all
    t_up = c.obs.now()
    for i in range(topo.nredis):
        topo.start_redis(i)
    c.fault(f"every Redis master back (empty) after {t_up - t_down:.1f}s")
    renew = c.s.death_ms / 3000.0 if c.s.pod_lease_ttl else 0.0
    agent_bound = 1 + renew + 2 * rec + 1 + slack
    got = c.wait_taken_over([BOT_AGENT], t_up, set(), agent_bound + 12)[BOT_AGENT]
    dt = None if got is None else got[0] - t_up
    run["agent_after_redis_ms"] = None if dt is None else round(dt * 1000)
    c.chk.bound(f"bot: {BOT_AGENT} after Redis came back", dt, agent_bound, t_up)
    if dt is not None:
        c.failovers.append(dt)
    others = [a for a in c.wanted() if a != BOT_AGENT]
    bound = ttl + rec + 1 + slack
    seen = c.wait_taken_over(others, t_up, set(), bound + 12)
    late = [seen[a][0] - t_up for a in others if seen[a]]
    for a in others:
        ft = seen[a][0] - t_up if seen[a] else None
        c.chk.bound(f"bot: restore of {a} after Redis came back", ft, bound, t_up)
    run["others_restored_max_ms"] = round(max(late) * 1000) if late else None
    with tg.cv:
        run["get_updates"] = tg.stats["get_updates"]
        run["poll_conflicts"] = tg.stats["conflicts"]
        run["messages_sent"] = tg.stats["send_message"]
    fig["runs"].append(run)
    c.plot_bot = getattr(c, "plot_bot", []) + [(t_down, t_up)]
    c.log(f"   runners stopped {run['runners_stopped_ms']} ms after Redis went; answers "
          f"/help {run['help_reply_ms']} ms, /start_agent {run['start_reply_ms']} ms; "
          f"{BOT_AGENT} ran {run['agent_after_redis_ms']} ms after Redis came back "
          f"(bound {agent_bound * 1000:.0f}), the others within "
          f"{run['others_restored_max_ms']} ms")
