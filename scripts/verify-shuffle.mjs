#!/usr/bin/env node
// Checks a queuegate pre-queue shuffle on your own machine (docs/fair-start.md "Checking the
// shuffle"): that the revealed seed matches the commitment shown since the
// event was created, and what your sort key is. Needs only Node.js.
//
//   node scripts/verify-shuffle.mjs --event <eventId> --user <userId> --seed <hex> --commitment <hex> [--others a,b,c]
//   node scripts/verify-shuffle.mjs --event <eventId> --user <userId> --from http://localhost:3000
//
// --from reads seed and commitment from GET /v1/events/<eventId>. --others
// lists further user ids to rank your key among (everyone's key is public
// once the seed is: sort keys ascending give the order).
import { createHash, createHmac } from 'node:crypto';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    event: { type: 'string' },
    user: { type: 'string' },
    seed: { type: 'string' },
    commitment: { type: 'string' },
    from: { type: 'string' },
    others: { type: 'string' },
  },
});
const fail = (message) => {
  console.error(`verify-shuffle: ${message}`);
  process.exit(2);
};
if (!values.event || !values.user) fail('give --event and --user');

let { seed, commitment } = values;
if (values.from) {
  const response = await fetch(`${values.from.replace(/\/$/, '')}/v1/events/${encodeURIComponent(values.event)}`);
  if (!response.ok) fail(`GET event: ${response.status}`);
  const view = await response.json();
  if (!view.shuffle) fail('this event has no pre-queue shuffle');
  commitment = view.shuffle.commitment;
  seed = view.shuffle.seed ?? undefined;
  if (!seed) fail(`the seed is not revealed yet (it is at salesStartAt ${view.config?.salesStartAt}); commitment ${commitment}`);
}
if (!seed || !/^[0-9a-f]{64}$/.test(seed)) fail('--seed must be 64 hex digits');

const seedBytes = Buffer.from(seed, 'hex');
const hashed = createHash('sha256').update(seedBytes).digest('hex');
const sortKey = (userId) => createHmac('sha256', seedBytes).update(`${values.event}:${userId}`).digest('hex');

console.log(`seed        ${seed}`);
console.log(`SHA-256     ${hashed}`);
if (commitment) {
  const ok = hashed === commitment.toLowerCase();
  console.log(`commitment  ${commitment}  ${ok ? 'MATCHES' : 'DOES NOT MATCH'}`);
  if (!ok) process.exitCode = 1;
}
const mine = sortKey(values.user);
console.log(`sort key    HMAC-SHA256(seed, "${values.event}:${values.user}") = ${mine}`);
if (values.others) {
  const everyone = [...new Set([values.user, ...values.others.split(',').filter(Boolean)])];
  const ranked = everyone.map((u) => [sortKey(u), u]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  console.log(`rank        ${ranked.findIndex(([, u]) => u === values.user) + 1} of ${ranked.length} listed`);
}
