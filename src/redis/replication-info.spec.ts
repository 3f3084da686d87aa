import { parseReplicationInfo } from './replication-info';

describe('parseReplicationInfo', () => {
  it('reads the master offset and each replica with its lag in bytes and seconds', () => {
    const info = [
      '# Replication',
      'role:master',
      'connected_slaves:2',
      'slave0:ip=127.0.0.1,port=7001,state=online,offset=1200,lag=0',
      'slave1:ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=3',
      'master_failover_state:no-failover',
      'master_repl_offset:1500',
      '',
    ].join('\r\n');
    expect(parseReplicationInfo('127.0.0.1:7000', info)).toEqual({
      node: '127.0.0.1:7000',
      role: 'master',
      offset: 1500,
      replicas: [
        { address: '127.0.0.1:7001', state: 'online', offset: 1200, lagBytes: 300, lagSeconds: 0 },
        { address: '127.0.0.1:7002', state: 'wait_bgsave', offset: 0, lagBytes: 1500, lagSeconds: 3 },
      ],
    });
  });

  it('a master without replicas has none', () => {
    expect(parseReplicationInfo('n', '# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n')).toEqual({
      node: 'n',
      role: 'master',
      offset: 0,
      replicas: [],
    });
  });
});
