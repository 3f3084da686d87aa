/** One replica of a master, as the master sees it. */
export interface ReplicaState {
  /** ip:port the replica announced */
  address: string;
  /** online once the initial sync is done (wait_bgsave, send_bulk before) */
  state: string;
  /** replication offset the replica last acknowledged */
  offset: number;
  /** bytes of the master's stream it has not acknowledged yet: master offset − replica offset */
  lagBytes: number;
  /** seconds since its last acknowledgement (replicas acknowledge every second) */
  lagSeconds: number;
}

/** A master's replication, from its INFO replication. */
export interface MasterReplication {
  /** host:port the service knows the node by */
  node: string;
  /** master, or slave when the node was demoted and the client has not noticed yet */
  role: string;
  /** master_repl_offset: bytes of writes it has sent to its replication stream */
  offset: number;
  replicas: ReplicaState[];
}

/** Parses the text of `INFO replication` (Redis 7) as the master at `node` reports it. */
export function parseReplicationInfo(node: string, info: string): MasterReplication {
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  const offset = Number(fields.get('master_repl_offset') ?? 0);
  const replicas: ReplicaState[] = [];
  for (let i = 0; fields.has(`slave${i}`); i += 1) {
    // slave0:ip=10.0.0.2,port=6379,state=online,offset=1234,lag=0
    const parts = new Map(fields.get(`slave${i}`)!.split(',').map((kv) => kv.split('=') as [string, string]));
    const replicaOffset = Number(parts.get('offset') ?? 0);
    replicas.push({
      address: `${parts.get('ip')}:${parts.get('port')}`,
      state: parts.get('state') ?? 'unknown',
      offset: replicaOffset,
      lagBytes: Math.max(0, offset - replicaOffset),
      lagSeconds: Number(parts.get('lag') ?? 0),
    });
  }
  return { node, role: fields.get('role') ?? 'unknown', offset, replicas };
}
