// redlock_bench.js -- the peer of `make bench-redis`: node-redlock 4 over
// ioredis 5 (default options) against one redis-server on 127.0.0.1.
//
//   node redlock_bench.js PORT [N] [CONCURRENCY]
//
// Times N (default 10,000) redlock.lock(resource, ttl) on fresh keys and N
// lock.extend(ttl) of those locks, twice: sequentially (await each call)
// and in groups of CONCURRENCY (default 100) calls under Promise.all, the
// way a node program overlaps independent calls.  Then one lock + unlock
// round trip, median of 200.  A warm-up of 2,000 lock/unlock runs first so
// the JIT and the connection are warm, as in a long-running service.
// Prints one JSON object on stdout; every lock taken is released again.
// Never talks to anything but 127.0.0.1:PORT; exits non-zero on any
// failed lock or extend (a figure for failed calls is no figure).
'use strict';

const Redis = require('ioredis');
const Redlock = require('redlock');

const port = parseInt(process.argv[2], 10);
const N = parseInt(process.argv[3] || '10000', 10);
const CONC = parseInt(process.argv[4] || '100', 10);
const TTL = 30000;
const ROUNDTRIPS = 200;

if (!(port > 0 && N > 0 && CONC > 0)) {
  console.error('usage: node redlock_bench.js PORT [N] [CONCURRENCY]');
  process.exit(2);
}

function ms(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

// fn(i) for i in [0, n), `conc` at a time (1: sequential).
async function run(n, conc, fn) {
  const out = new Array(n);
  for (let i = 0; i < n; i += conc) {
    const end = Math.min(n, i + conc);
    if (conc === 1) {
      out[i] = await fn(i);
      continue;
    }
    const group = [];
    for (let j = i; j < end; j++) group.push(fn(j));
    const got = await Promise.all(group);
    for (let j = i; j < end; j++) out[j] = got[j - i];
  }
  return out;
}

async function releaseAll(locks) {
  await run(locks.length, 100, (i) => locks[i].unlock());
}

async function pass(redlock, tag, conc) {
  const keys = [];
  for (let i = 0; i < N; i++) keys.push(`bench:peer:${tag}:${i}`);
  let t0 = process.hrtime.bigint();
  const locks = await run(N, conc, (i) => redlock.lock(keys[i], TTL));
  const acquire = ms(t0);
  t0 = process.hrtime.bigint();
  await run(N, conc, (i) => locks[i].extend(TTL));
  const extend = ms(t0);
  await releaseAll(locks);
  return { acquire, extend };
}

async function main() {
  const client = new Redis({ host: '127.0.0.1', port });
  // retryCount 0: a try-lock, as our try_acquire (the keys are fresh, so
  // no call ever waits for a retry either way).
  const redlock = new Redlock([client], { retryCount: 0 });
  const stamp = `${process.pid}-${Date.now()}`;

  for (let i = 0; i < 2000; i++) {
    const l = await redlock.lock(`bench:peer:warm:${stamp}:${i % 50}`, TTL);
    await l.unlock();
  }
  const seq = await pass(redlock, `seq:${stamp}`, 1);
  const par = await pass(redlock, `par:${stamp}`, CONC);

  const rt = [];
  for (let i = 0; i < ROUNDTRIPS; i++) {
    const t0 = process.hrtime.bigint();
    const l = await redlock.lock(`bench:peer:rt:${stamp}`, TTL);
    await l.unlock();
    rt.push(ms(t0));
  }
  rt.sort((a, b) => a - b);

  const bestAcq = par.acquire < seq.acquire ? 'parallel' : 'sequential';
  const bestExt = par.extend < seq.extend ? 'parallel' : 'sequential';
  const out = {
    n: N,
    concurrency: CONC,
    redlock_version: require('redlock/package.json').version,
    ioredis_version: require('ioredis/package.json').version,
    node_version: process.version,
    acquire_seq_ms: seq.acquire,
    extend_seq_ms: seq.extend,
    acquire_par_ms: par.acquire,
    extend_par_ms: par.extend,
    acquire_ms: Math.min(seq.acquire, par.acquire),
    acquire_mode: bestAcq,
    extend_ms: Math.min(seq.extend, par.extend),
    extend_mode: bestExt,
    roundtrip_ms: rt[Math.floor(rt.length / 2)],
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  await client.quit();
}

main().catch((e) => {
  console.error(`redlock_bench: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
