/**
 * Lua scripts: each is one round trip and atomic. In a Cluster they touch keys of
 * one hash tag only (see keys.ts); stream keys found in due-set members are of
 * the same tag.
 */

/**
 * Publish. KEYS: stream, dedupe key, registry, births, birth counter. ARGV: subject, id, publishedAt,
 * headers JSON, payload, dedupe ('1'|'0'), window ms, trim kind ('', 'MAXLEN',
 * 'MINID'), trim operator ('=', '~'), trim value (MINID: max age in ms),
 * new-subject channel.
 * A subject's first publish registers it, numbers its birth (a counter, see
 * REGISTER_GROUP) and announces it — atomically with the `XADD`.
 * Returns { duplicate (0|1), entry id }.
 */
export const PUBLISH = `
if ARGV[6] == '1' then
  local seen = redis.call('GET', KEYS[2])
  if seen then return {1, seen} end
end
local args = {KEYS[1]}
if ARGV[8] == 'MAXLEN' then
  table.insert(args, 'MAXLEN'); table.insert(args, ARGV[9]); table.insert(args, ARGV[10])
elseif ARGV[8] == 'MINID' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  table.insert(args, 'MINID'); table.insert(args, ARGV[9]); table.insert(args, tostring(now - tonumber(ARGV[10])))
end
table.insert(args, '*')
table.insert(args, 'i'); table.insert(args, ARGV[2])
table.insert(args, 't'); table.insert(args, ARGV[3])
if ARGV[4] ~= '' then table.insert(args, 'h'); table.insert(args, ARGV[4]) end
table.insert(args, 'p'); table.insert(args, ARGV[5])
local entry = redis.call('XADD', unpack(args))
if ARGV[6] == '1' then redis.call('SET', KEYS[2], entry, 'PX', ARGV[7]) end
if redis.call('SADD', KEYS[3], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[4], ARGV[1], redis.call('INCR', KEYS[5]))
  redis.call('PUBLISH', ARGV[11], ARGV[1])
end
return {0, entry}
`;

/**
 * Claims due entries of a group (nakked or released) for one consumer.
 * KEYS: due set. ARGV: group, consumer, now ms, count.
 * Returns a list of { stream, id, fields, deliveryCount } for claimed entries and
 * { stream, id, false, -1 } for entries trimmed away while pending (then acked).
 */
export const CLAIM_DUE = `
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local nl = string.find(member, '\\n', 1, true)
  local stream = string.sub(member, 1, nl - 1)
  local ms, seq = string.match(string.sub(member, nl + 1), '^(%d+)-(%d+)$')
  local id = string.format('%.0f-%.0f', tonumber(ms), tonumber(seq))
  local pending = redis.call('XPENDING', stream, ARGV[1], id, id, 1)
  if #pending > 0 then
    local claimed = redis.call('XCLAIM', stream, ARGV[1], ARGV[2], 0, id)
    if #claimed > 0 and claimed[1] then
      table.insert(out, {stream, claimed[1][1], claimed[1][2], pending[1][4] + 1})
    else
      redis.call('XACK', stream, ARGV[1], id)
      table.insert(out, {stream, id, false, -1})
    end
  end
end
return out
`;

/**
 * Takes over entries idle for longer than ARGV[3] (their holder crashed or lost
 * its connection: a live member keeps what it holds fresh, see REFRESH_HELD),
 * skipping entries waiting in the due set, on several streams in one call,
 * claiming at most ARGV[4] entries in all.
 * KEYS: due set, streams…. ARGV: group, consumer, min idle ms, count.
 * Returns entries as CLAIM_DUE does.
 */
export const RECLAIM = `
local out = {}
local left = tonumber(ARGV[4])
for k = 2, #KEYS do
  if left <= 0 then break end
  local stream = KEYS[k]
  local pending = redis.call('XPENDING', stream, ARGV[1], 'IDLE', tonumber(ARGV[3]), '-', '+', left)
  for _, p in ipairs(pending) do
    local id = p[1]
    local ms, seq = string.match(id, '^(%d+)-(%d+)$')
    local member = stream .. '\\n' .. string.rep('0', 16 - #ms) .. ms .. '-' .. string.rep('0', 10 - #seq) .. seq
    if not redis.call('ZSCORE', KEYS[1], member) then
      local claimed = redis.call('XCLAIM', stream, ARGV[1], ARGV[2], tonumber(ARGV[3]), id)
      if #claimed > 0 and claimed[1] then
        table.insert(out, {stream, claimed[1][1], claimed[1][2], p[4] + 1})
        left = left - 1
      elseif #redis.call('XPENDING', stream, ARGV[1], id, id, 1) == 0 then
        redis.call('XACK', stream, ARGV[1], id)
        table.insert(out, {stream, id, false, -1})
      end
    end
  end
end
return out
`;

/**
 * Keeps entries a live member holds from looking idle (so that RECLAIM leaves
 * them alone): `XCLAIM … JUSTID` (idle reset, delivery counter unchanged) of each
 * entry still pending for this consumer; an entry another member took over is
 * not taken back. KEYS: stream. ARGV: group, consumer, ids…. Returns how many.
 */
export const REFRESH_HELD = `
local n = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p > 0 and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
`;

/**
 * Gives an entry back without counting an attempt: resets its delivery counter to
 * `attempt - 1` (the next claim adds one back) and makes it due now.
 * KEYS: stream, due set. ARGV: group, consumer, id, counter, member, now ms.
 */
export const RELEASE = `
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'RETRYCOUNT', tonumber(ARGV[4]), 'JUSTID')
redis.call('ZADD', KEYS[2], tonumber(ARGV[6]), ARGV[5])
return 1
`;

/**
 * Removes a consumer from a group only when it has nothing pending.
 * KEYS: stream. ARGV: group, consumer. Returns 1 when removed.
 */
export const DROP_IDLE_CONSUMER = `
local ok, pending = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if not ok or #pending > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

/**
 * This consumer's own pending entries that wait in no due set: after a dropped
 * connection, the reply of a read may have been lost with it, leaving entries
 * delivered to us that we never received. Counters are left as they are.
 * KEYS: stream, due set. ARGV: group, consumer, count.
 * Returns entries as CLAIM_DUE does (fields from XRANGE).
 */
export const OWN_PENDING = `
local out = {}
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', tonumber(ARGV[3]), ARGV[2])
for _, p in ipairs(pending) do
  local id = p[1]
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  local member = KEYS[1] .. '\\n' .. string.rep('0', 16 - #ms) .. ms .. '-' .. string.rep('0', 10 - #seq) .. seq
  if not redis.call('ZSCORE', KEYS[2], member) then
    local entry = redis.call('XRANGE', KEYS[1], id, id)
    if #entry > 0 then table.insert(out, {KEYS[1], id, entry[1][2], p[4]}) end
  end
end
return out
`;

/**
 * Registers a group's pattern the first time the pair is subscribed (`HSETNX`:
 * a later subscribe keeps the first registration), and returns every pattern of
 * the group with its registration. A registration is `<births>|<start>`: the
 * subject-birth counter at that moment (every subject first published later has
 * a greater birth number, see PUBLISH) and where the group starts on the
 * subjects born before: a position, never `$` — `0`, `<ms>-0` (`from: { time }`),
 * or for `from: 'new'` the registration's own millisecond (`<ms - 1>-<max seq>`:
 * every entry stored from that millisecond on), so a consumer group created later
 * on such a stream (a first subscribe that failed partway, a stream deleted and
 * published again while no member ran) still gets what was published after the
 * registration. Counting births instead of reading a clock makes "first
 * published after the group existed" exact, atomic with both scripts.
 * The registering call also creates the group's consumer group on the streams
 * given (at `$` for `from: 'new'`: exactly what existed before is left out),
 * all in this one atomic step; a failure there is returned after the others
 * were created (the registration stays: a retry creates the rest at its start).
 * KEYS: group hash, birth counter, streams…. ARGV: pattern, start (`$`, `0`,
 * `<ms>-0`), consumer group name.
 * Returns the hash as a flat list { pattern, registration, … }.
 */
export const REGISTER_GROUP = `
local births = redis.call('GET', KEYS[2]) or '0'
local start = ARGV[2]
if start == '$' then
  local t = redis.call('TIME')
  local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  start = string.format('%.0f', ms - 1) .. '-18446744073709551615'
end
if redis.call('HSETNX', KEYS[1], ARGV[1], births .. '|' .. start) == 1 then
  local failed
  for i = 3, #KEYS do
    -- a stream gone since the registry was read is left alone: the subscribe creates it, registered
    if redis.call('EXISTS', KEYS[i]) == 1 then
      local reply = redis.pcall('XGROUP', 'CREATE', KEYS[i], ARGV[3], ARGV[2])
      if type(reply) == 'table' and reply.err and not string.find(reply.err, 'BUSYGROUP', 1, true) then
        failed = failed or reply.err
      end
    end
  end
  if failed then return redis.error_reply(failed) end
end
return redis.call('HGETALL', KEYS[1])
`;

/**
 * A non-blocking read over several streams that claims at most ARGV[3] entries
 * in total (\`XREADGROUP COUNT\` bounds each stream, not the read), taking the
 * streams in the order given. KEYS: streams. ARGV: group, consumer, limit.
 * Returns { visited, reply }: how many streams it read (the next read starts
 * after them, so a read never scans again the streams the last one emptied),
 * and what XREADGROUP returns: { { stream, { { id, fields }, … } }, … }.
 */
export const READ_BOUNDED = `
local left = tonumber(ARGV[3])
local out = {}
local visited = 0
for _, key in ipairs(KEYS) do
  if left <= 0 then break end
  visited = visited + 1
  local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', left, 'STREAMS', key, '>')
  if reply and reply[1] and #reply[1][2] > 0 then
    left = left - #reply[1][2]
    table.insert(out, reply[1])
  end
end
return {visited, out}
`;

/**
 * Creates a consumer group on a stream. When the stream does not exist, it is
 * created (empty) and its subject registered, numbered as born and announced, as
 * a first publish would: every stream of the bus is a registered subject, so a
 * publish that finds its stream (\`XADD NOMKSTREAM\`) never reaches a subject
 * wildcard groups do not know. An existing group is kept as it is.
 * KEYS: stream, registry, births, birth counter. ARGV: group, position, subject,
 * new-subject channel. Returns 1 when it created the stream.
 */
export const CREATE_GROUP = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], ARGV[2], 'MKSTREAM')
  if redis.call('SADD', KEYS[2], ARGV[3]) == 1 then
    redis.call('HSET', KEYS[3], ARGV[3], redis.call('INCR', KEYS[4]))
    redis.call('PUBLISH', ARGV[4], ARGV[3])
  end
  return 1
end
local reply = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], ARGV[2])
if type(reply) == 'table' and reply.err and not string.find(reply.err, 'BUSYGROUP', 1, true) then
  return redis.error_reply(reply.err)
end
return 0
`;

/**
 * Prunes the subject registry: removes every subject whose stream no longer
 * exists (deleted from outside; trimming never deletes a stream). Atomic with
 * the publish script, which creates a stream and registers its subject in one
 * step, so a subject being first published is never unregistered.
 * A pruned subject published again is born again (a new birth number).
 * KEYS: registry, births. ARGV: stream key prefix (`{p}:s:`). Returns how many went.
 */
export const PRUNE_REGISTRY = `
local removed = 0
for _, subject in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. subject) == 0 then
    redis.call('SREM', KEYS[1], subject)
    redis.call('HDEL', KEYS[2], subject)
    removed = removed + 1
  end
end
return removed
`;
